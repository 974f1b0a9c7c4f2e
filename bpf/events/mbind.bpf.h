/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* mbind(2) on the kernel side: the generic record, from its rows (events/mbind.h). */
MPT_CALL_EVENT(mbind, MBIND)
