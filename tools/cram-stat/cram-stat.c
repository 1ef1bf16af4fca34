/*
 * cram-stat: live statistics of a cxl-cram device, from QEMU's QMP socket
 *
 *   cram-stat [-i SECONDS] [-c COUNT] [--csv FILE] [-d DEVICE] QMP-SOCKET
 *
 * Prints a line per interval, like vmstat: ratio, media used and free,
 * watermark state, store/load rates, cache hit rate, dropped writes and
 * poison.  --csv also writes every sample, with all fields, to FILE.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <stdbool.h>
#include <glib.h>
#include <gio/gio.h>
#include <gio/gunixsocketaddress.h>
#include <stdio.h>
#include <string.h>
#include "cxl-cram-figures.h"

/* Every figure of the device's table, in CSV column order */
#define FIELD_NAME(name, reg, member, mig) { name },
static const struct {
    const char *name;
} fields[] = {
    CXL_CRAM_FIGURES(FIELD_NAME)
};
#define NFIELDS G_N_ELEMENTS(fields)

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

typedef struct Qmp {
    GSocketConnection *conn;
    GDataInputStream *in;
    GOutputStream *out;
} Qmp;

static char *qmp_line(Qmp *q, GError **err)
{
    return g_data_input_stream_read_line(q->in, NULL, NULL, err);
}

/* Send @cmd, return the first line that is not an event. */
static char *qmp_call(Qmp *q, const char *cmd, GError **err)
{
    char *line;

    if (!g_output_stream_write_all(q->out, cmd, strlen(cmd), NULL, NULL,
                                   err)) {
        return NULL;
    }
    while ((line = qmp_line(q, err))) {
        if (!strstr(line, "\"event\"")) {
            return line;
        }
        g_free(line);
    }
    if (err && !*err) {
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_CLOSED, "QMP closed");
    }
    return NULL;
}

static bool qmp_open(Qmp *q, const char *path, GError **err)
{
    GSocketClient *client = g_socket_client_new();
    GSocketAddress *addr = g_unix_socket_address_new(path);
    char *line;

    q->conn = g_socket_client_connect(client, G_SOCKET_CONNECTABLE(addr),
                                      NULL, err);
    g_object_unref(addr);
    g_object_unref(client);
    if (!q->conn) {
        return false;
    }
    q->in = g_data_input_stream_new(
        g_io_stream_get_input_stream(G_IO_STREAM(q->conn)));
    q->out = g_io_stream_get_output_stream(G_IO_STREAM(q->conn));
    line = qmp_line(q, err);            /* greeting */
    if (!line) {
        return false;
    }
    g_free(line);
    line = qmp_call(q, "{\"execute\": \"qmp_capabilities\"}\n", err);
    g_free(line);
    return line != NULL;
}

/*
 * The stats property is one flat object of numbers: find "name": value
 * without a JSON library.
 */
static bool json_number(const char *json, const char *name, double *val)
{
    g_autofree char *key = g_strdup_printf("\"%s\":", name);
    const char *p = strstr(json, key);
    char *end;

    if (!p) {
        return false;
    }
    *val = g_ascii_strtod(p + strlen(key), &end);
    return end != p + strlen(key);
}

static bool sample(Qmp *q, const char *dev, double *v, GError **err)
{
    g_autofree char *cmd = g_strdup_printf(
        "{\"execute\": \"qom-get\", \"arguments\": {\"path\": \"%s\", "
        "\"property\": \"stats\"}}\n", dev);
    g_autofree char *rsp = qmp_call(q, cmd, err);
    size_t i;

    if (!rsp) {
        return false;
    }
    if (!strstr(rsp, "\"return\"")) {
        g_set_error(err, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", rsp);
        return false;
    }
    for (i = 0; i < NFIELDS; i++) {
        if (!json_number(rsp, fields[i].name, &v[i])) {
            v[i] = 0;
        }
    }
    return true;
}

static const char *wm_state(double status)
{
    unsigned s = (unsigned)status;

    if (s & (1u << 2)) {
        return "NO_ALLOC";
    }
    if (s & (1u << 0)) {
        return "above-low";
    }
    return "ok";
}

int main(int argc, char **argv)
{
    double interval = 1.0, v[NFIELDS], prev[NFIELDS];
    const size_t f_used = field("media-used"), f_free = field("media-free"),
        f_rsvd = field("media-reserved"), f_ratio = field("ratio"),
        f_status = field("status"), f_stores = field("stores"),
        f_loads = field("loads"), f_hits = field("cache-hits"),
        f_misses = field("cache-misses"), f_dropped = field("dropped-writes"),
        f_poison = field("poisoned-pages");
    int count = 0, n;
    g_autofree char *csv_path = NULL;
    g_autofree char *dev = g_strdup("/machine/peripheral/cram0");
    GOptionEntry opts[] = {
        { "interval", 'i', 0, G_OPTION_ARG_DOUBLE, &interval,
          "seconds between samples (default 1)", "S" },
        { "count", 'c', 0, G_OPTION_ARG_INT, &count,
          "stop after N samples (default: run until interrupted)", "N" },
        { "csv", 0, 0, G_OPTION_ARG_FILENAME, &csv_path,
          "also write every sample to FILE as CSV", "FILE" },
        { "device", 'd', 0, G_OPTION_ARG_STRING, &dev,
          "QOM path of the cxl-cram (default /machine/peripheral/cram0)",
          "PATH" },
        { NULL },
    };
    g_autoptr(GOptionContext) ctx =
        g_option_context_new("QMP-SOCKET - live cxl-cram statistics");
    g_autoptr(GError) err = NULL;
    FILE *csv = NULL;
    gint64 t0;
    Qmp q = { 0 };
    size_t i;

    g_option_context_add_main_entries(ctx, opts, NULL);
    if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc != 2 ||
        interval <= 0) {
        fprintf(stderr, "cram-stat: %s\n",
                err ? err->message : "usage: cram-stat [OPTION...] "
                "QMP-SOCKET (interval > 0)");
        return 2;
    }
    if (!qmp_open(&q, argv[1], &err)) {
        fprintf(stderr, "cram-stat: %s: %s\n", argv[1], err->message);
        return 1;
    }
    if (csv_path) {
        csv = fopen(csv_path, "w");
        if (!csv) {
            fprintf(stderr, "cram-stat: %s: %s\n", csv_path,
                    g_strerror(errno));
            return 1;
        }
        fprintf(csv, "time");
        for (i = 0; i < NFIELDS; i++) {
            fprintf(csv, ",%s", fields[i].name);
        }
        fprintf(csv, "\n");
    }

    printf("%7s %9s %9s %9s %-9s %9s %9s %5s %8s %8s\n", "ratio",
           "used-MiB", "free-MiB", "rsvd-MiB", "state", "stores/s",
           "loads/s", "hit%", "dropped", "poison");
    t0 = g_get_monotonic_time();
    memset(prev, 0, sizeof(prev));
    for (n = 0; !count || n < count; n++) {
        double hits, acc;

        if (n) {
            g_usleep((gulong)(interval * G_USEC_PER_SEC));
        }
        if (!sample(&q, dev, v, &err)) {
            fprintf(stderr, "cram-stat: %s\n", err->message);
            return 1;
        }
        hits = v[f_hits] - prev[f_hits];
        acc = hits + v[f_misses] - prev[f_misses];
        /* the ratio saturates when data is held but no media is used */
        printf("%7.2f %9.1f %9.1f %9.1f %-9s %9.0f %9.0f %5.1f %8.0f "
               "%8.0f\n",
               v[f_ratio] >= 65535 ? 0 : v[f_ratio], v[f_used] / 1048576,
               v[f_free] / 1048576, v[f_rsvd] / 1048576,
               wm_state(v[f_status]),
               n ? (v[f_stores] - prev[f_stores]) / interval : 0,
               n ? (v[f_loads] - prev[f_loads]) / interval : 0,
               acc > 0 ? 100.0 * hits / acc : 100.0, v[f_dropped],
               v[f_poison]);
        fflush(stdout);
        if (csv) {
            fprintf(csv, "%.3f",
                    (g_get_monotonic_time() - t0) / (double)G_USEC_PER_SEC);
            for (i = 0; i < NFIELDS; i++) {
                fprintf(csv, ",%.17g", v[i]);
            }
            fprintf(csv, "\n");
            fflush(csv);
        }
        memcpy(prev, v, sizeof(prev));
    }
    if (csv) {
        fclose(csv);
    }
    g_object_unref(q.in);
    g_object_unref(q.conn);
    return 0;
}
