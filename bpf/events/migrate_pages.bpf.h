/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* migrate_pages(2) on the kernel side: the generic record, from events/migrate_pages.h. */
MPT_CALL_EVENT(migrate_pages, MIGRATE_PAGES)
