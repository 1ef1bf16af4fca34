/*
 * cxl-cram engine: the capacity as one sparse host mapping, its missing
 * and write-protected pages reported through a userfaultfd
 *
 * Faults are read from a non-blocking userfaultfd, polled together with
 * an eventfd that cram_map_stop() signals.  Pages are filled with
 * UFFDIO_COPY (atomic: a page is never seen half copied), protected with
 * UFFDIO_WRITEPROTECT (anonymous memory, Linux 5.7 and later) and dropped
 * with MADV_DONTNEED.  The userfaultfd comes from /dev/userfaultfd when
 * the host has it (faults in the kernel's own copies, such as a read()
 * into the mapping, are trapped too, without privileges), else from the
 * system call.
 *
 * SPDX-License-Identifier: GPL-2.0-or-later
 */

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <linux/userfaultfd.h>
#include "cram-map.h"
#include "cram-error.h"

struct CramMap {
    uint8_t *base;
    uint64_t size;
    int uffd;
    int stop;                   /* eventfd */
};

static int uffd_open(void)
{
    int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
    int fd;

    if (dev >= 0) {
        fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
        close(dev);
        return fd;
    }
    return syscall(__NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
}

static bool map_fail(GError **errp, const char *what)
{
    g_set_error(errp, CRAM_ERROR, 0, "cannot trap the resident pages: %s: %s",
                what, g_strerror(errno));
    return false;
}

static bool map_trap(CramMap *m, GError **errp)
{
    struct uffdio_api api = {
        .api = UFFD_API,
        .features = UFFD_FEATURE_PAGEFAULT_FLAG_WP,
    };
    struct uffdio_register reg = {
        .range = { .start = (uintptr_t)m->base, .len = m->size },
        .mode = UFFDIO_REGISTER_MODE_MISSING | UFFDIO_REGISTER_MODE_WP,
    };

    m->uffd = uffd_open();
    if (m->uffd < 0) {
        return map_fail(errp, "userfaultfd");
    }
    if (ioctl(m->uffd, UFFDIO_API, &api)) {
        return map_fail(errp, "UFFDIO_API with write-protect faults");
    }
    if (ioctl(m->uffd, UFFDIO_REGISTER, &reg)) {
        return map_fail(errp, "UFFDIO_REGISTER");
    }
    if (!(reg.ioctls & (1ULL << _UFFDIO_WRITEPROTECT))) {
        errno = EOPNOTSUPP;
        return map_fail(errp, "UFFDIO_WRITEPROTECT");
    }
    m->stop = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m->stop < 0) {
        return map_fail(errp, "eventfd");
    }
    return true;
}

CramMap *cram_map_new(uint64_t size, GError **errp)
{
    CramMap *m = g_new0(CramMap, 1);
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    m->uffd = m->stop = -1;
    m->size = size;
    if (p == MAP_FAILED) {
        map_fail(errp, "mmap");
        g_free(m);
        return NULL;
    }
    m->base = p;
    /* Pages come and go one at a time: no huge pages to split. */
    madvise(p, size, MADV_NOHUGEPAGE);
    if (!map_trap(m, errp)) {
        cram_map_free(m);
        return NULL;
    }
    return m;
}

void cram_map_free(CramMap *m)
{
    if (!m) {
        return;
    }
    if (m->uffd >= 0) {
        close(m->uffd);
    }
    if (m->stop >= 0) {
        close(m->stop);
    }
    munmap(m->base, m->size);
    g_free(m);
}

uint8_t *cram_map_base(CramMap *m)
{
    return m->base;
}

uint8_t *cram_map_page(CramMap *m, uint64_t page)
{
    return m->base + page * CRAM_PAGE_SIZE;
}

/* An ioctl on one page; EAGAIN (the mapping changed under it) is retried */
static int map_ioctl(CramMap *m, unsigned long req, void *arg)
{
    int r;

    do {
        r = ioctl(m->uffd, req, arg);
    } while (r && errno == EAGAIN);
    return r ? errno : 0;
}

void cram_map_wake(CramMap *m, uint64_t page)
{
    struct uffdio_range r = {
        .start = (uintptr_t)cram_map_page(m, page), .len = CRAM_PAGE_SIZE,
    };
    int err = map_ioctl(m, UFFDIO_WAKE, &r);

    if (err) {
        g_error("cram-map: UFFDIO_WAKE of page %" PRIu64 ": %s", page,
                g_strerror(err));
    }
}

void cram_map_fill(CramMap *m, uint64_t page, const void *src,
                   bool writable)
{
    struct uffdio_copy c = {
        .dst = (uintptr_t)cram_map_page(m, page),
        .src = (uintptr_t)src,
        .len = CRAM_PAGE_SIZE,
        .mode = writable ? 0 : UFFDIO_COPY_MODE_WP,
    };
    int err = map_ioctl(m, UFFDIO_COPY, &c);

    if (err) {
        /* The owner fills only missing pages: anything else is a bug. */
        g_error("cram-map: UFFDIO_COPY to page %" PRIu64 ": %s", page,
                g_strerror(err));
    }
}

void cram_map_protect(CramMap *m, uint64_t page, bool wp)
{
    struct uffdio_writeprotect w = {
        .range = {
            .start = (uintptr_t)cram_map_page(m, page),
            .len = CRAM_PAGE_SIZE,
        },
        .mode = wp ? UFFDIO_WRITEPROTECT_MODE_WP : 0,
    };
    int err = map_ioctl(m, UFFDIO_WRITEPROTECT, &w);

    if (err) {
        g_error("cram-map: UFFDIO_WRITEPROTECT of page %" PRIu64 ": %s",
                page, g_strerror(err));
    }
}

void cram_map_drop(CramMap *m, uint64_t page)
{
    if (madvise(cram_map_page(m, page), CRAM_PAGE_SIZE, MADV_DONTNEED)) {
        g_error("cram-map: MADV_DONTNEED of page %" PRIu64 ": %s", page,
                g_strerror(errno));
    }
}

bool cram_map_wait_fault(CramMap *m, CramFault *f)
{
    struct pollfd pfd[2] = {
        { .fd = m->uffd, .events = POLLIN },
        { .fd = m->stop, .events = POLLIN },
    };
    struct uffd_msg msg;
    ssize_t n;

    for (;;) {
        if (poll(pfd, 2, -1) < 0 && errno != EINTR) {
            g_error("cram-map: poll: %s", g_strerror(errno));
        }
        if (pfd[1].revents) {
            return false;
        }
        n = read(m->uffd, &msg, sizeof(msg));
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            continue;
        }
        if (n != sizeof(msg)) {
            g_error("cram-map: reading a fault: %s",
                    n < 0 ? g_strerror(errno) : "short read");
        }
        if (msg.event != UFFD_EVENT_PAGEFAULT) {
            continue;
        }
        f->page = (msg.arg.pagefault.address - (uintptr_t)m->base) /
                  CRAM_PAGE_SIZE;
        f->write = msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WRITE;
        f->wp = msg.arg.pagefault.flags & UFFD_PAGEFAULT_FLAG_WP;
        return true;
    }
}

void cram_map_stop(CramMap *m)
{
    uint64_t one = 1;

    if (write(m->stop, &one, sizeof(one)) != sizeof(one)) {
        g_error("cram-map: eventfd: %s", g_strerror(errno));
    }
}
