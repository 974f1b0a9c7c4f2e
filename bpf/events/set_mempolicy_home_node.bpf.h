/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* set_mempolicy_home_node(2) on the kernel side: the generic record, from its rows
 * (events/set_mempolicy_home_node.h). */
MPT_CALL_EVENT(set_mempolicy_home_node, SET_MEMPOLICY_HOME_NODE)
