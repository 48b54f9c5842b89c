#ifndef RUMOR_CLIBUV_SHIM_H
#define RUMOR_CLIBUV_SHIM_H
#include <uv.h>

/* setns(2) with CLONE_NEWNET: moves the calling thread into the network namespace open at fd, so the
 * sockets it creates from then on live there. <sched.h> declares setns only under _GNU_SOURCE, which
 * Swift's Glibc module does not define, hence this one declaration. */
extern int setns(int fd, int nstype);
static inline int rumor_enter_network_namespace(int fd) { return setns(fd, 0x40000000 /* CLONE_NEWNET */); }
#endif
