/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Prometheus metrics over HTTP (--metrics ADDR:PORT): GET /metrics answers
 * with the text the owner last published. The owner builds that text on its
 * own loop; the server thread only copies it out, so it never touches the
 * tracer, the sinks or the shipper, and it holds no capability: it is started
 * after they are dropped.
 */
#ifndef MPTRACE_METRICS_H
#define MPTRACE_METRICS_H

#include <stdint.h>

#include "util/strbuf.h"

struct mpt_metrics;

/*
 * Bind ADDR:PORT ("127.0.0.1:9867", "[::1]:9867", ":9867" for every address).
 * Fails here, before anything is started, when the address is malformed or
 * taken. 0, or -errno with @err saying why.
 */
int mpt_metrics_listen(const char *addr, struct mpt_metrics **out, char *err, size_t len);
/* Start answering; call once privileges are dropped. */
int mpt_metrics_serve(struct mpt_metrics *m, char *err, size_t len);
/* What the next scrape gets; copied. */
void mpt_metrics_publish(struct mpt_metrics *m, const char *text, size_t len);
void mpt_metrics_free(struct mpt_metrics *m);

/* The text format's pieces: "# HELP" and "# TYPE" once per metric, then its samples. */
void mpt_metric_head(struct strbuf *sb, const char *name, const char *type, const char *help);
/* NAME{LABEL="VALUE"} V; @label NULL for none; the value is escaped. */
void mpt_metric_u64(struct strbuf *sb, const char *name, const char *label, const char *value,
		    uint64_t v);
void mpt_metric_f64(struct strbuf *sb, const char *name, const char *label, const char *value,
		    double v);
/* mptrace_build_info{version="...",@label="@value"} 1, with its head. */
void mpt_metric_build_info(struct strbuf *sb, const char *label, const char *value);
/* Both in one: a metric with no labels. */
void mpt_metric_one(struct strbuf *sb, const char *name, const char *type, const char *help,
		    double v);

#endif
