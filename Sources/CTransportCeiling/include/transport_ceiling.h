#ifndef RUMOR_TRANSPORT_CEILING_H
#define RUMOR_TRANSPORT_CEILING_H
#include <stddef.h>
#include <stdint.h>

/* What a plain libuv pair moved: no protocol, batched writes, the reader only counts length-prefixed frames. */
typedef struct {
    uint64_t frames;
    uint64_t bytes;
    double seconds;
    int error; /* 0, or a libuv error code */
} rumor_ceiling_result;

/* Streams frames of `frame_size` bytes (prefix included) over loopback TCP between two loop threads for
   about `seconds` and reports what the reader counted. */
rumor_ceiling_result rumor_ceiling_run(size_t frame_size, double seconds);

#endif
