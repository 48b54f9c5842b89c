#ifndef RUMOR_RELAY_FLOOR_H
#define RUMOR_RELAY_FLOOR_H
#include <stdio.h>

/* One member of a plain libuv relay tree over loopback TCP: the floor Rumor's relay benchmark compares
   against. Member i listens on 127.0.0.1:(base_port + i); its children are i*fanout+1 .. i*fanout+fanout
   (those below `processes`). */
struct relay_floor_member_config {
    int index;       /* 0 = root */
    int processes;   /* total members N */
    int fanout;      /* children per member, e.g. 4 */
    int base_port;   /* member i listens on 127.0.0.1:(base_port + i); keep the range below Linux's ephemeral
                        ports (32768 and up): an outgoing connection there, or its TIME_WAIT, makes bind fail */
    int messages;    /* frames the root sends */
    int frame_bytes; /* size of each frame, >= 16: sequence (u64 LE), send time in ns (u64 LE), padding */
    int spacing_us;  /* gap between two sends at the root, microseconds */
    int timeout_ms;  /* give up (return an error) if the run has not finished within this */
};

/* Runs one member until it has received (or, for the root, sent) every frame and forwarded them, then
   lingers 50 ms before returning so that its teardown does not slow the frames still crossing the tree.
   Writes one line per frame to `out`: "<sequence> <latency_ns>\n", where latency_ns is the receive time
   (CLOCK_MONOTONIC, system-wide, so comparable across processes) minus the send time the root stamped
   into the frame. The root writes nothing per frame. Returns 0 on success, or a negative libuv error or -1
   after one line on stderr naming the member and what failed. */
int relay_floor_run_member(const struct relay_floor_member_config *config, FILE *out);

#endif
