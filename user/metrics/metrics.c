// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dlfcn.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "metrics/metrics.h"
#include "version.h"

/* Scrapers are few; a client that holds a connection open cannot hold more. */
#define MPT_METRICS_CONNS 8
#define MPT_METRICS_TIMEOUT_S 5

/*
 * libmicrohttpd is loaded when --metrics asks for it: with it come GnuTLS
 * and eight more libraries, 2.4 MB resident, which a tracer without metrics
 * should not map. The functions used, each written once; MPT_MHD_SONAME
 * is the name the build found it by.
 */
#define MHD_FUNCTIONS(X)                                                                           \
	X(MHD_start_daemon)                                                                        \
	X(MHD_stop_daemon)                                                                         \
	X(MHD_create_response_from_buffer)                                                         \
	X(MHD_add_response_header)                                                                 \
	X(MHD_queue_response)                                                                      \
	X(MHD_destroy_response)

static struct {
#define MHD_POINTER(f) __typeof__(&f) f;
	MHD_FUNCTIONS(MHD_POINTER)
#undef MHD_POINTER
} mhd;

/* 0, or -1 with @err saying which library or function is missing. */
static int load_mhd(char *err, size_t len)
{
	void *h;

	if (mhd.MHD_start_daemon)
		return 0;
	h = dlopen(MPT_MHD_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(err, len, "--metrics needs %s: %s", MPT_MHD_SONAME, dlerror());
		return -1;
	}
#define MHD_LOAD(f)                                                                                \
	if (!(*(void **)&mhd.f = dlsym(h, #f))) {                                                  \
		snprintf(err, len, "--metrics: %s has no %s", MPT_MHD_SONAME, #f);                 \
		memset(&mhd, 0, sizeof(mhd));                                                      \
		dlclose(h);                                                                        \
		return -1;                                                                         \
	}
	MHD_FUNCTIONS(MHD_LOAD)
#undef MHD_LOAD
	return 0;
}

struct mpt_metrics {
	int fd;
	int port;
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;
	char *text;
	size_t len;
};

static int parse_addr(const char *addr, char *host, size_t hlen, char *port, size_t plen)
{
	const char *colon = strrchr(addr, ':');
	size_t n;

	if (!colon || !colon[1] || strlen(colon + 1) >= plen)
		return -1;
	n = (size_t)(colon - addr);
	if (n && addr[0] == '[') {
		if (addr[n - 1] != ']')
			return -1;
		addr++;
		n -= 2;
	}
	if (n >= hlen)
		return -1;
	memcpy(host, addr, n);
	host[n] = '\0';
	strcpy(port, colon + 1);
	return strspn(port, "0123456789") == strlen(port) ? 0 : -1;
}

static int inherited(const struct addrinfo *ai)
{
	int n = sd_listen_fds(0);

	for (int fd = SD_LISTEN_FDS_START; n > 0 && fd < SD_LISTEN_FDS_START + n; fd++)
		if (sd_is_socket_sockaddr(fd, SOCK_STREAM, ai->ai_addr, ai->ai_addrlen, 1) > 0)
			return fd;
	return -1;
}

static int bind_one(const char *addr, int *port, char *err, size_t len)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
				 .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE};
	struct addrinfo *ai = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char host[64], serv[8];
	int fd, one = 1, e;

	if (parse_addr(addr, host, sizeof(host), serv, sizeof(serv)) || atoi(serv) > 65535) {
		snprintf(err, len,
			 "invalid --metrics '%s': expected ADDR:PORT, such as 127.0.0.1:9867",
			 addr);
		return -EINVAL;
	}
	e = getaddrinfo(host[0] ? host : NULL, serv, &hints, &ai);
	if (e) {
		snprintf(err, len, "invalid --metrics '%s': %s (a numeric address is expected)",
			 addr, gai_strerror(e));
		return -EINVAL;
	}
	/*
	 * A socket the service manager made for this address (mptrace.socket):
	 * the service itself keeps its private network, where binding would
	 * reach nobody.
	 */
	fd = inherited(ai);
	if (fd >= 0) {
		freeaddrinfo(ai);
		*port = atoi(serv);
		return fd;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 16) ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl))
		goto fail;
	freeaddrinfo(ai);
	*port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					       : ((struct sockaddr_in *)&ss)->sin_port);
	return fd;
fail:
	e = errno;
	snprintf(err, len, "cannot serve metrics on %s: %s", addr, strerror(e));
	if (fd >= 0)
		close(fd);
	freeaddrinfo(ai);
	return -e;
}

int mpt_metrics_listen(const char *addr, struct mpt_metrics **out, char *err, size_t len)
{
	struct mpt_metrics *m;
	int port = 0, fd;

	*out = NULL;
	if (load_mhd(err, len))
		return -ENOENT;
	fd = bind_one(addr, &port, err, len);
	if (fd < 0)
		return fd;
	m = calloc(1, sizeof(*m));
	if (!m) {
		close(fd);
		snprintf(err, len, "out of memory");
		return -ENOMEM;
	}
	m->fd = fd;
	m->port = port;
	pthread_mutex_init(&m->lock, NULL);
	*out = m;
	return 0;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_len, void **state)
{
	struct mpt_metrics *m = cls;
	struct MHD_Response *r;
	unsigned int code = MHD_HTTP_OK;
	enum MHD_Result ret;

	(void)version, (void)upload, (void)upload_len, (void)state;
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		code = MHD_HTTP_METHOD_NOT_ALLOWED;
		r = mhd.MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	} else if (strcmp(url, "/metrics")) {
		code = MHD_HTTP_NOT_FOUND;
		r = mhd.MHD_create_response_from_buffer(
		    strlen("see /metrics\n"), (void *)"see /metrics\n", MHD_RESPMEM_PERSISTENT);
	} else {
		pthread_mutex_lock(&m->lock);
		/* not tracing yet: a scrape that fails, not one that says zero */
		if (!m->text)
			code = MHD_HTTP_SERVICE_UNAVAILABLE;
		r = mhd.MHD_create_response_from_buffer(m->len, m->text ? m->text : (void *)"",
							MHD_RESPMEM_MUST_COPY);
		pthread_mutex_unlock(&m->lock);
		if (r)
			mhd.MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
						    "text/plain; version=0.0.4; charset=utf-8");
	}
	if (!r)
		return MHD_NO;
	ret = mhd.MHD_queue_response(c, code, r);
	mhd.MHD_destroy_response(r);
	return ret;
}

int mpt_metrics_serve(struct mpt_metrics *m, char *err, size_t len)
{
	sigset_t all, old;

	if (!m)
		return 0;
	/* the server thread takes no signal: they are the main loop's to wake it */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	m->daemon = mhd.MHD_start_daemon(
	    MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, answer, m, MHD_OPTION_LISTEN_SOCKET, m->fd,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MPT_METRICS_CONNS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)MPT_METRICS_TIMEOUT_S, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!m->daemon) {
		snprintf(err, len, "cannot start the metrics server on port %d", m->port);
		return -EIO;
	}
	return 0;
}

void mpt_metrics_publish(struct mpt_metrics *m, const char *text, size_t len)
{
	char *copy;

	if (!m || !(copy = malloc(len + 1)))
		return;
	memcpy(copy, text, len);
	copy[len] = '\0';
	pthread_mutex_lock(&m->lock);
	free(m->text);
	m->text = copy;
	m->len = len;
	pthread_mutex_unlock(&m->lock);
}

void mpt_metrics_free(struct mpt_metrics *m)
{
	if (!m)
		return;
	/* the daemon closes the socket it was given */
	if (m->daemon)
		mhd.MHD_stop_daemon(m->daemon);
	else
		close(m->fd);
	pthread_mutex_destroy(&m->lock);
	free(m->text);
	free(m);
}

void mpt_metric_head(struct strbuf *sb, const char *name, const char *type, const char *help)
{
	sb_printf(sb, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* LABEL="VALUE", the value escaped as the text format asks */
static void put_label(struct strbuf *sb, const char *label, const char *value)
{
	sb_printf(sb, "%s=\"", label);
	for (const char *p = value; *p; p++) {
		if (*p == '\\' || *p == '"')
			sb_putc(sb, '\\');
		if (*p == '\n')
			sb_puts(sb, "\\n");
		else
			sb_putc(sb, *p);
	}
	sb_putc(sb, '"');
}

static void sample_start(struct strbuf *sb, const char *name, const char *label, const char *value)
{
	sb_puts(sb, name);
	if (label) {
		sb_putc(sb, '{');
		put_label(sb, label, value);
		sb_putc(sb, '}');
	}
	sb_putc(sb, ' ');
}

void mpt_metric_u64(struct strbuf *sb, const char *name, const char *label, const char *value,
		    uint64_t v)
{
	sample_start(sb, name, label, value);
	sb_u64(sb, v);
	sb_putc(sb, '\n');
}

void mpt_metric_f64(struct strbuf *sb, const char *name, const char *label, const char *value,
		    double v)
{
	sample_start(sb, name, label, value);
	/* whole numbers as such: a counter read as 1.2e+06 loses its last digits */
	if (v == (double)(int64_t)v && v < 9007199254740992.0 && v > -9007199254740992.0)
		sb_printf(sb, "%lld\n", (long long)v);
	else
		sb_printf(sb, "%.15g\n", v);
}

void mpt_metric_build_info(struct strbuf *sb, const char *label, const char *value)
{
	mpt_metric_head(sb, "mptrace_build_info", "gauge", "The running build; always 1.");
	sb_printf(sb, "mptrace_build_info{version=\"%s\",", MPTRACE_VERSION);
	put_label(sb, label, value);
	sb_puts(sb, "} 1\n");
}

void mpt_metric_one(struct strbuf *sb, const char *name, const char *type, const char *help,
		    double v)
{
	mpt_metric_head(sb, name, type, help);
	mpt_metric_f64(sb, name, NULL, NULL, v);
}
