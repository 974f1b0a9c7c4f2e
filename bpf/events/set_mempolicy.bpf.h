/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* set_mempolicy(2) on the kernel side: the generic record, from its rows (events/set_mempolicy.h).
 */
MPT_CALL_EVENT(set_mempolicy, SET_MEMPOLICY)
