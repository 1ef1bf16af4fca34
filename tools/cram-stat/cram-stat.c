/*
 * cram-stat: live statistics of cxl-cram devices, from QEMU's QMP socket
 *
 *   cram-stat [-i SECONDS] [-c COUNT] [--csv FILE] [-d DEVICE]...
 *             [--guest SOCKET --guest-keys K1,K2,...] [--events FILE]
 *             QMP-SOCKET
 *   cram-stat --pages[=BUCKETS] [-d DEVICE] QMP-SOCKET
 *
 * Prints a line per interval and device, like vmstat: ratio, media used
 * and free, watermark state, store/load rates, cache hit rate, dropped
 * writes and poison.  --csv also writes every sample, with all figures of
 * every device, to FILE; --guest adds the latest key=value figures a
 * guest wrote into a socket, on the same clock; --events logs every QMP
 * event.  --pages prints the per-address view (cxl-cram-query-pages) as
 * CSV and exits.  docs/guest.md describes it.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include <glib.h>
#include "cxl-cram-figures.h"

/* Every figure of the device's table, in CSV column order */
#define FIELD_NAME(name, reg, member, mig) { name },
static const struct {
    const char *name;
} fields[] = {
    CXL_CRAM_FIGURES(FIELD_NAME)
};
#define NFIELDS G_N_ELEMENTS(fields)

#define STAT_ERROR g_quark_from_static_string("cram-stat")

/* How long a QMP command may take to answer */
#define QMP_TIMEOUT_US (30 * G_USEC_PER_SEC)

/* The kinds of cxl-cram-query-pages, in CSV column order */
static const char *const bucket_fields[] = {
    "dpa", "pages", "empty", "zero", "same", "compressed", "raw",
    "poisoned", "stored-bytes",
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    stop = sig;
}

/* The column of figure @name: the table has every name used here */
static size_t field(const char *name)
{
    size_t i = 0;

    while (i < NFIELDS && strcmp(fields[i].name, name)) {
        i++;
    }
    g_assert(i < NFIELDS);
    return i;
}

/* A stream socket read in whole lines, without blocking */
typedef struct Lines {
    int fd;
    GString *buf;
} Lines;

typedef struct Dev {
    char *name;                 /* as given to -d: the CSV prefix */
    char *path;                 /* its QOM path */
    double v[NFIELDS], prev[NFIELDS];
} Dev;

typedef struct Stat {
    Lines qmp, guest;
    const char *guest_path;
    char **keys;                /* --guest-keys */
    gint64 *kval;
    bool *khave;
    unsigned unknown;           /* guest keys not in --guest-keys */
    FILE *csv, *events;
    Dev *dev;
    size_t ndev;
    gint64 t0;                  /* monotonic, at start */
    double unix0;               /* CLOCK_REALTIME seconds, at start */
} Stat;

/*
 * Read what @l's socket holds now; false at its end or on an error.
 */
static bool lines_read(Lines *l)
{
    char buf[4096];
    ssize_t n = recv(l->fd, buf, sizeof(buf), MSG_DONTWAIT);

    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return true;
    }
    if (n <= 0) {
        return false;
    }
    g_string_append_len(l->buf, buf, n);
    return true;
}

/* The next whole line of @l without its end (and a \r), or NULL */
static char *lines_next(Lines *l)
{
    char *nl = memchr(l->buf->str, '\n', l->buf->len);
    size_t len;
    char *line;

    if (!nl) {
        return NULL;
    }
    len = nl - l->buf->str;
    line = g_strndup(l->buf->str, len);
    g_string_erase(l->buf, 0, len + 1);
    if (len && line[len - 1] == '\r') {
        line[len - 1] = 0;
    }
    return line;
}

static void lines_close(Lines *l)
{
    if (l->fd >= 0) {
        close(l->fd);
    }
    l->fd = -1;
    g_string_truncate(l->buf, 0);
}

/* A stream connection to Unix socket @path, or -1 with errno */
static int unix_connect(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    int fd, e;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(sa.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || !connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
        return fd;
    }
    e = errno;
    close(fd);
    errno = e;
    return -1;
}

/*
 * Wait up to @us microseconds for @p; SIGINT and SIGTERM, blocked
 * elsewhere, interrupt only this wait.
 */
static int wait_fds(struct pollfd *p, int n, gint64 us)
{
    struct timespec ts = {
        .tv_sec = us / G_USEC_PER_SEC,
        .tv_nsec = (us % G_USEC_PER_SEC) * 1000,
    };
    sigset_t none;

    sigemptyset(&none);
    return ppoll(p, n, &ts, &none);
}

static double now_unix(void)
{
    return g_get_real_time() / (double)G_USEC_PER_SEC;
}

static double now_rel(const Stat *s)
{
    return (g_get_monotonic_time() - s->t0) / (double)G_USEC_PER_SEC;
}

/*
 * Minimal JSON, enough for QMP's answers: where the value that starts at
 * @p ends (the following ',' or closing bracket for a scalar).
 */
static const char *json_end(const char *p)
{
    int depth = 0;
    bool str = false;

    for (; *p; p++) {
        if (str) {
            if (*p == '\\' && p[1]) {
                p++;
            } else if (*p == '"') {
                str = false;
                if (!depth) {
                    return p + 1;
                }
            }
        } else if (*p == '"') {
            str = true;
        } else if (*p == '{' || *p == '[') {
            depth++;
        } else if (*p == '}' || *p == ']') {
            if (!depth--) {
                return p;
            }
            if (!depth) {
                return p + 1;
            }
        } else if (*p == ',' && !depth) {
            return p;
        }
    }
    return p;
}

/* The value of the first member @name in @json, or NULL */
static const char *json_member(const char *json, const char *name)
{
    g_autofree char *key = g_strdup_printf("\"%s\":", name);
    const char *p = strstr(json, key);

    if (!p) {
        return NULL;
    }
    p += strlen(key);
    while (g_ascii_isspace(*p)) {
        p++;
    }
    return p;
}

/* The number member @name of @json */
static bool json_number(const char *json, const char *name, double *val)
{
    const char *p = json_member(json, name);
    char *end;

    if (!p) {
        return false;
    }
    *val = g_ascii_strtod(p, &end);
    return end != p;
}

/* The value at @p up to @end without the blanks outside strings */
static char *json_compact(const char *p, const char *end)
{
    GString *out = g_string_new(NULL);
    bool str = false;

    for (; p < end; p++) {
        if (str && *p == '\\' && p + 1 < end) {
            g_string_append_c(out, *p++);
        } else if (*p == '"') {
            str = !str;
        } else if (!str && g_ascii_isspace(*p)) {
            continue;
        }
        g_string_append_c(out, *p);
    }
    return g_string_free(out, false);
}

/* @text as one CSV field: quoted, its quotes doubled */
static void csv_quoted(FILE *f, const char *text)
{
    fputc('"', f);
    for (; *text; text++) {
        if (*text == '"') {
            fputc('"', f);
        }
        fputc(*text, f);
    }
    fputc('"', f);
}

/*
 * One QMP event as a line of --events: QEMU's timestamp, the same on
 * cram-stat's relative clock, the name, the data as compact JSON.
 */
static void event_log(Stat *s, const char *line)
{
    const char *name = json_member(line, "event");
    const char *data = json_member(line, "data");
    g_autofree char *compact = NULL;
    double sec = 0, usec = 0, when;

    if (!s->events || !name || *name != '"') {
        return;
    }
    json_number(line, "seconds", &sec);
    json_number(line, "microseconds", &usec);
    when = sec + usec / G_USEC_PER_SEC;
    compact = data ? json_compact(data, json_end(data)) : g_strdup("{}");
    fprintf(s->events, "%.6f,%.6f,%.*s,", when, when - s->unix0,
            (int)(json_end(name) - name - 2), name + 1);
    csv_quoted(s->events, compact);
    fputc('\n', s->events);
    fflush(s->events);
}

static bool is_event(const char *line)
{
    return g_str_has_prefix(line, "{\"timestamp\"");
}

/* Log the QMP events that arrived; false when QMP closed */
static bool qmp_pump(Stat *s)
{
    char *line;
    bool open = lines_read(&s->qmp);

    while ((line = lines_next(&s->qmp))) {
        if (is_event(line)) {
            event_log(s, line);
        }
        g_free(line);
    }
    return open;
}

/* Wait for more of QMP's answer, until @end */
static bool qmp_more(Stat *s, gint64 end, GError **err)
{
    struct pollfd p = { .fd = s->qmp.fd, .events = POLLIN };
    gint64 left = end - g_get_monotonic_time();

    if (left <= 0) {
        g_set_error(err, STAT_ERROR, 0,
                    "QMP did not answer");
        return false;
    }
    if (wait_fds(&p, 1, left) > 0 && !lines_read(&s->qmp)) {
        g_set_error(err, STAT_ERROR, 0, "QMP closed");
        return false;
    }
    return true;
}

/*
 * Send @cmd (NULL: none, for the greeting), return the first line that is
 * not an event; the events before it go to --events.
 */
static char *qmp_call(Stat *s, const char *cmd, GError **err)
{
    gint64 end = g_get_monotonic_time() + QMP_TIMEOUT_US;
    size_t len = cmd ? strlen(cmd) : 0, done = 0;
    char *line;

    while (done < len) {
        ssize_t n = send(s->qmp.fd, cmd + done, len - done, MSG_NOSIGNAL);

        if (n < 0 && errno != EINTR) {
            g_set_error(err, STAT_ERROR, 0,
                        "QMP: %s", g_strerror(errno));
            return NULL;
        }
        done += n > 0 ? n : 0;
    }
    for (;;) {
        while ((line = lines_next(&s->qmp))) {
            if (!is_event(line)) {
                return line;
            }
            event_log(s, line);
            g_free(line);
        }
        if (!qmp_more(s, end, err)) {
            return NULL;
        }
    }
}

/* @cmd's "return" value, or NULL with @err */
static char *qmp_return(Stat *s, const char *cmd, GError **err)
{
    char *rsp = qmp_call(s, cmd, err);

    if (rsp && !json_member(rsp, "return")) {
        g_set_error(err, STAT_ERROR, 0, "%s", rsp);
        g_free(rsp);
        return NULL;
    }
    return rsp;
}

static bool qmp_open(Stat *s, const char *path, GError **err)
{
    char *line;

    s->qmp.fd = unix_connect(path);
    if (s->qmp.fd < 0) {
        g_set_error(err, STAT_ERROR, 0, "%s",
                    g_strerror(errno));
        return false;
    }
    line = qmp_call(s, NULL, err);              /* greeting */
    if (!line) {
        return false;
    }
    g_free(line);
    line = qmp_return(s, "{\"execute\": \"qmp_capabilities\"}\n", err);
    g_free(line);
    return line != NULL;
}

static bool sample(Stat *s, Dev *d, GError **err)
{
    g_autofree char *cmd = g_strdup_printf(
        "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"%s\", "
        "\"property\": \"stats\"}}\n", d->path);
    g_autofree char *rsp = qmp_return(s, cmd, err);
    size_t i;

    if (!rsp) {
        return false;
    }
    memcpy(d->prev, d->v, sizeof(d->v));
    for (i = 0; i < NFIELDS; i++) {
        if (!json_number(rsp, fields[i].name, &d->v[i])) {
            d->v[i] = 0;
        }
    }
    return true;
}

/* The index of guest key @key, or -1 */
static int guest_key(const Stat *s, const char *key)
{
    int i;

    for (i = 0; s->keys[i]; i++) {
        if (!strcmp(s->keys[i], key)) {
            return i;
        }
    }
    return -1;
}

/* One line from the guest: its key=integer words; others are ignored */
static void guest_line(Stat *s, const char *line)
{
    g_auto(GStrv) words = g_strsplit_set(line, " \t", -1);
    char **w;

    for (w = words; *w; w++) {
        char *eq = strchr(*w, '=');
        gint64 val;
        int k;

        if (!eq || eq == *w) {
            continue;
        }
        *eq = 0;
        if (!g_ascii_string_to_signed(eq + 1, 10, G_MININT64, G_MAXINT64,
                                      &val, NULL)) {
            continue;
        }
        k = guest_key(s, *w);
        if (k >= 0) {
            s->kval[k] = val;
            s->khave[k] = true;
        } else if (!s->unknown++) {
            fprintf(stderr, "cram-stat: guest key %s not in --guest-keys: "
                    "ignored (and the others like it)\n", *w);
        }
    }
}

/* Read what the guest sent; close at its end */
static void guest_pump(Stat *s)
{
    char *line;
    bool open = lines_read(&s->guest);

    while ((line = lines_next(&s->guest))) {
        guest_line(s, line);
        g_free(line);
    }
    if (!open) {
        lines_close(&s->guest);
    }
}

/* Connect to the guest's socket if it is there (the guest boots late) */
static void guest_connect(Stat *s)
{
    if (s->guest_path && s->guest.fd < 0) {
        s->guest.fd = unix_connect(s->guest_path);
    }
}

/*
 * Until @deadline (monotonic), log events and read the guest; 1 when a
 * signal stops cram-stat, -1 when QMP closed.
 */
static int wait_until(Stat *s, gint64 deadline)
{
    gint64 left;

    while (!stop && (left = deadline - g_get_monotonic_time()) > 0) {
        struct pollfd p[2] = {
            { .fd = s->qmp.fd, .events = POLLIN },
            { .fd = s->guest.fd, .events = POLLIN },
        };

        if (wait_fds(p, s->guest.fd >= 0 ? 2 : 1, left) <= 0) {
            continue;
        }
        if (p[0].revents && !qmp_pump(s)) {
            return -1;
        }
        if (s->guest.fd >= 0 && p[1].revents) {
            guest_pump(s);
        }
    }
    return stop ? 1 : 0;
}

static void csv_header(const Stat *s)
{
    bool bare = s->ndev == 1 && !s->guest_path;
    size_t d, i;

    fprintf(s->csv, "time,unix");
    for (d = 0; d < s->ndev; d++) {
        for (i = 0; i < NFIELDS; i++) {
            fprintf(s->csv, ",%s%s%s", bare ? "" : s->dev[d].name,
                    bare ? "" : ".", fields[i].name);
        }
    }
    for (i = 0; s->guest_path && s->keys[i]; i++) {
        fprintf(s->csv, ",guest.%s", s->keys[i]);
    }
    fputc('\n', s->csv);
    fflush(s->csv);
}

static void csv_row(const Stat *s, double rel, double unix_time)
{
    size_t d, i;

    fprintf(s->csv, "%.3f,%.6f", rel, unix_time);
    for (d = 0; d < s->ndev; d++) {
        for (i = 0; i < NFIELDS; i++) {
            fprintf(s->csv, ",%.17g", s->dev[d].v[i]);
        }
    }
    for (i = 0; s->guest_path && s->keys[i]; i++) {
        if (s->khave[i]) {
            fprintf(s->csv, ",%" G_GINT64_FORMAT, s->kval[i]);
        } else {
            fputc(',', s->csv);
        }
    }
    fputc('\n', s->csv);
    fflush(s->csv);
}

static const char *wm_state(double status)
{
    unsigned st = (unsigned)status;

    if (st & (1u << 2)) {
        return "NO_ALLOC";
    }
    if (st & (1u << 0)) {
        return "above-low";
    }
    return "ok";
}

static void term_header(const Stat *s)
{
    if (s->ndev > 1) {
        printf("%-12s ", "device");
    }
    printf("%7s %9s %9s %9s %-9s %9s %9s %5s %8s %8s\n", "ratio",
           "used-MiB", "free-MiB", "rsvd-MiB", "state", "stores/s",
           "loads/s", "hit%", "dropped", "poison");
}

/* The main figures of @d, with rates over @secs (0: none yet) */
static void term_line(const Stat *s, const Dev *d, double secs)
{
    static size_t f_used, f_free, f_rsvd, f_ratio, f_status, f_stores,
        f_loads, f_hits, f_misses, f_dropped, f_poison;
    const double *v = d->v, *p = d->prev;
    double hits, acc;

    if (!f_used) {
        f_used = field("media-used"), f_free = field("media-free");
        f_rsvd = field("media-reserved"), f_ratio = field("ratio");
        f_status = field("status"), f_stores = field("stores");
        f_loads = field("loads"), f_hits = field("cache-hits");
        f_misses = field("cache-misses");
        f_dropped = field("dropped-writes");
        f_poison = field("poisoned-pages");
    }
    hits = v[f_hits] - p[f_hits];
    acc = hits + v[f_misses] - p[f_misses];
    if (s->ndev > 1) {
        printf("%-12s ", d->name);
    }
    /* the ratio saturates when data is held but no media is used */
    printf("%7.2f %9.1f %9.1f %9.1f %-9s %9.0f %9.0f %5.1f %8.0f %8.0f\n",
           v[f_ratio] >= 65535 ? 0 : v[f_ratio], v[f_used] / 1048576,
           v[f_free] / 1048576, v[f_rsvd] / 1048576, wm_state(v[f_status]),
           secs > 0 ? (v[f_stores] - p[f_stores]) / secs : 0,
           secs > 0 ? (v[f_loads] - p[f_loads]) / secs : 0,
           acc > 0 ? 100.0 * hits / acc : 100.0, v[f_dropped],
           v[f_poison]);
}

/* Sample every device, print and write one row; false on an error */
static bool sample_all(Stat *s, double secs, GError **err)
{
    double rel = now_rel(s), unix_time = now_unix();
    size_t d;

    guest_connect(s);
    if (s->guest.fd >= 0) {
        guest_pump(s);
    }
    for (d = 0; d < s->ndev; d++) {
        if (!sample(s, &s->dev[d], err)) {
            g_prefix_error(err, "%s: ", s->dev[d].name);
            return false;
        }
    }
    for (d = 0; d < s->ndev; d++) {
        term_line(s, &s->dev[d], secs);
    }
    fflush(stdout);
    if (s->csv) {
        csv_row(s, rel, unix_time);
    }
    return true;
}

/* The sampling loop: 0, or 1 when QMP failed */
static int run(Stat *s, double interval, int count)
{
    gint64 step = (gint64)(interval * G_USEC_PER_SEC), next = s->t0;
    g_autoptr(GError) err = NULL;
    int n, w;

    term_header(s);
    for (n = 0; !count || n < count; n++) {
        if (n) {
            next += step;
            w = wait_until(s, next);
            if (w > 0) {
                return 0;
            }
            if (w < 0) {
                fprintf(stderr, "cram-stat: QMP closed\n");
                return 1;
            }
        }
        if (!sample_all(s, n ? interval : 0, &err)) {
            fprintf(stderr, "cram-stat: %s\n", err->message);
            return 1;
        }
    }
    return 0;
}

/* --pages: one CSV of the device's buckets on stdout */
static int pages(Stat *s, int buckets)
{
    g_autofree char *arg = buckets ?
        g_strdup_printf(", \"buckets\": %d", buckets) : g_strdup("");
    g_autofree char *cmd = g_strdup_printf(
        "{\"execute\": \"cxl-cram-query-pages\", \"arguments\": "
        "{\"path\": \"%s\"%s}}\n", s->dev[0].path, arg);
    g_autoptr(GError) err = NULL;
    g_autofree char *rsp = qmp_return(s, cmd, &err);
    const char *p;
    size_t i;

    if (!rsp) {
        fprintf(stderr, "cram-stat: %s: %s\n", s->dev[0].name, err->message);
        return 1;
    }
    for (i = 0; i < G_N_ELEMENTS(bucket_fields); i++) {
        printf("%s,", bucket_fields[i]);
    }
    printf("mean-compressed-size\n");
    for (p = strchr(rsp, '{'); p && (p = strchr(p + 1, '{')); ) {
        double v[G_N_ELEMENTS(bucket_fields)] = { 0 }, objs;

        for (i = 0; i < G_N_ELEMENTS(bucket_fields); i++) {
            json_number(p, bucket_fields[i], &v[i]);
            printf("%.0f,", v[i]);
        }
        objs = v[5] + v[6];             /* compressed + raw */
        if (objs > 0) {
            printf("%.1f", v[8] / objs);
        }
        printf("\n");
    }
    return 0;
}

/* -d DEVICE: a QOM id (in /machine/peripheral) or a path */
static void add_devices(Stat *s, char **names)
{
    static char *dflt[] = { (char *)"cram0", NULL };
    size_t i;

    names = names && names[0] ? names : dflt;
    s->ndev = g_strv_length(names);
    s->dev = g_new0(Dev, s->ndev);
    for (i = 0; i < s->ndev; i++) {
        s->dev[i].name = g_strdup(names[i]);
        s->dev[i].path = names[i][0] == '/' ? g_strdup(names[i]) :
            g_strdup_printf("/machine/peripheral/%s", names[i]);
    }
}

static FILE *open_out(const char *path)
{
    FILE *f = fopen(path, "w");

    if (!f) {
        fprintf(stderr, "cram-stat: %s: %s\n", path, g_strerror(errno));
        exit(1);
    }
    return f;
}

static int pages_buckets = -1;

static gboolean pages_opt(const char *name G_GNUC_UNUSED, const char *value,
                          void *data G_GNUC_UNUSED, GError **err)
{
    guint64 n = 0;

    if (value && !g_ascii_string_to_unsigned(value, 10, 0, INT_MAX, &n,
                                             NULL)) {
        pages_buckets = -1;
    } else {
        pages_buckets = n;
    }
    if (pages_buckets < 0) {
        g_set_error(err, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                    "--pages: %s is not a count of buckets", value);
        return false;
    }
    return true;
}

/* SIGINT and SIGTERM end the sampling, between samples */
static void catch_signals(void)
{
    struct sigaction sa = { .sa_handler = on_signal };
    sigset_t set;

    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_BLOCK, &set, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void setup_guest(Stat *s, const char *keys)
{
    s->keys = g_strsplit(keys ? keys : "", ",", -1);
    s->kval = g_new0(gint64, g_strv_length(s->keys) + 1);
    s->khave = g_new0(bool, g_strv_length(s->keys) + 1);
}

int main(int argc, char **argv)
{
    double interval = 1.0;
    int count = 0, rc;
    g_autofree char *csv_path = NULL, *events_path = NULL, *guest = NULL;
    g_autofree char *keys = NULL;
    g_auto(GStrv) devs = NULL;
    GOptionEntry opts[] = {
        { "interval", 'i', 0, G_OPTION_ARG_DOUBLE, &interval,
          "seconds between samples (default 1)", "S" },
        { "count", 'c', 0, G_OPTION_ARG_INT, &count,
          "stop after N samples (default: until SIGINT or SIGTERM)", "N" },
        { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv_path,
          "also write every sample to FILE as CSV", "FILE" },
        { "device", 'd', 0, G_OPTION_ARG_STRING_ARRAY, &devs,
          "QOM id or path of a cxl-cram, again for more (default cram0)",
          "DEV" },
        { "guest", 0, 0, G_OPTION_ARG_FILENAME, &guest,
          "read a guest's key=value lines from Unix socket PATH", "PATH" },
        { "guest-keys", 0, 0, G_OPTION_ARG_STRING, &keys,
          "the guest's keys, CSV columns guest.KEY", "K1,K2,..." },
        { "events", 0, 0, G_OPTION_ARG_FILENAME, &events_path,
          "write every QMP event to FILE as CSV", "FILE" },
        { "pages", 0, G_OPTION_FLAG_OPTIONAL_ARG, G_OPTION_ARG_CALLBACK,
          pages_opt, "print one device's DPA buckets as CSV and exit "
          "(--pages=BUCKETS; default 64)", "BUCKETS" },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("QMP-SOCKET - live cxl-cram statistics");
    g_autoptr(GError) err = NULL;
    Stat s = { .qmp = { -1, g_string_new(NULL) },
               .guest = { -1, g_string_new(NULL) } };

    g_option_context_add_main_entries(ctx, opts, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc != 2 ||
        interval <= 0 || (guest && !keys) ||
        (pages_buckets >= 0 && devs && g_strv_length(devs) > 1)) {
        fprintf(stderr, "cram-stat: %s\n",
                err ? err->message : "usage: cram-stat [OPTION...] "
                "QMP-SOCKET (interval > 0, --guest needs --guest-keys, "
                "--pages one device)");
        return 2;
    }
    add_devices(&s, devs);
    setup_guest(&s, keys);
    s.guest_path = guest;
    s.events = events_path ? open_out(events_path) : NULL;
    s.csv = csv_path && pages_buckets < 0 ? open_out(csv_path) : NULL;
    catch_signals();
    s.t0 = g_get_monotonic_time();
    s.unix0 = now_unix();
    if (!qmp_open(&s, argv[1], &err)) {
        fprintf(stderr, "cram-stat: %s: %s\n", argv[1], err->message);
        return 1;
    }
    if (s.csv) {
        csv_header(&s);
    }
    rc = pages_buckets >= 0 ? pages(&s, pages_buckets) :
        run(&s, interval, count);
    if (s.unknown) {
        fprintf(stderr, "cram-stat: %u guest key=value ignored\n",
                s.unknown);
    }
    if (s.csv) {
        fclose(s.csv);
    }
    if (s.events) {
        fclose(s.events);
    }
    return rc;
}
