/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What each event's decoder gives decode.c, which picks it by record type
 * from events/events.h. Every event's today is the generic record's
 * (user/decode/call.c, mpt_call_*); events/NAME.h names it
 * (MPT_<ID>_DECODER); for a decoder DEC:
 *   mpt_DEC_parse(buf, len, v, why)   check one record (its header's type is
 *                                     NAME's, its version one NAME has) and
 *                                     fill the view: arguments, arrays
 *   mpt_DEC_entry_bytes(h)            the bytes the entry captured, after the payload
 *   mpt_DEC_clear_return(h, why)      clear what a return adds (a call reported
 *                                     from its entry alone); the payload's end
 *   mpt_DEC_record_max(cap)           its largest record, arrays of @cap entries
 * and events/NAME.h has MPT_<ID>_VERSION_MIN, the first record version with
 * it. A layout an event wrote before is lifted (user/decode/events/NAME.c).
 */
#ifndef MPTRACE_DECODE_EVENTS_H
#define MPTRACE_DECODE_EVENTS_H

#include "decode/decode.h"

#define MPT_DECODER_DECL_(dec)                                                                     \
	int mpt_##dec##_parse(const void *buf, size_t len, struct mpt_view *v, const char **why);  \
	size_t mpt_##dec##_entry_bytes(const struct mpt_rec_hdr *h);                               \
	size_t mpt_##dec##_clear_return(struct mpt_rec_hdr *h, uint8_t ret_state);                 \
	size_t mpt_##dec##_record_max(uint32_t cap);
#define MPT_DECODER_DECL(dec) MPT_DECODER_DECL_(dec)
#define MPT_EVENT_DECODER_DECL(ID, T, name, nr64, nr32) MPT_DECODER_DECL(MPT_##ID##_DECODER)
MPT_EVENTS(MPT_EVENT_DECODER_DECL)
#undef MPT_EVENT_DECODER_DECL
/* A summary has a parser alone: it is never in a slot, never unreturned. */
#define MPT_SUMMARY_DECODER_DECL(ID, T, name)                                                      \
	int mpt_##name##_parse(const void *buf, size_t len, struct mpt_view *v, const char **why);
MPT_SUMMARIES(MPT_SUMMARY_DECODER_DECL)
#undef MPT_SUMMARY_DECODER_DECL

/*
 * Lift a record an event wrote in an older layout into the generic record's
 * header at @out (MPT_LIFTED_MAX bytes), checking what the lift relies on:
 * 0, with where its data is (@data: in the record, or after @out's header)
 * and the bytes there (@have); or -EINVAL with @why. decode.c lists which
 * type and versions each one takes.
 */
/* The first record version whose generic record has a table of four captures. */
#define MPT_CALL_VERSION_TABLE4 6
#define MPT_LIFT_DECL(fn)                                                                          \
	int fn(const void *buf, size_t len, void *out, const unsigned char **data, size_t *have,   \
	       const char **why);
MPT_LIFT_DECL(mpt_call_v5_lift)
MPT_LIFT_DECL(mpt_migrate_pages_v4_lift)
MPT_LIFT_DECL(mpt_move_pages_v5_lift)
#undef MPT_LIFT_DECL

/* One capture of a lifted record: what an older layout kept of an array, as its table says it. */
static inline struct mpt_capture mpt_capture_lifted(uint8_t arg, uint8_t state, size_t bytes,
						    bool changed, bool exit_fault)
{
	return (struct mpt_capture){.arg = arg,
				    .state = state,
				    .changed = changed,
				    .exit_fault = exit_fault,
				    .bytes = (uint32_t)bytes};
}

/* The generic record's checks and view, its data at @data (@have bytes there). */
int mpt_call_parse_at(const struct mpt_call_event *ev, const unsigned char *data, size_t have,
		      struct mpt_view *v, const char **why);

/* Checks and helpers every decoder shares. */
bool mpt_array_consistent(uint8_t state, uint16_t n);
int mpt_check_hdr(const struct mpt_rec_hdr *h, const char **why);
void mpt_set_array(struct mpt_arg_view *a, uint8_t state, unsigned int n, const unsigned char *data,
		   uint64_t len);

#endif /* MPTRACE_DECODE_EVENTS_H */
