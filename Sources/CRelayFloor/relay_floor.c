/* The floor for Rumor's relay benchmark: a tree of processes that each forward fixed-size frames to their
   children over loopback TCP with nothing but libuv in between. No membership, no encoding, no security:
   whatever Rumor adds on top of this is its own cost. */
#include "relay_floor.h"
#include <uv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

enum {
    HEADER_BYTES = 16,       /* sequence, then send time */
    READ_BUFFER = 64 * 1024,
    RETRY_MS = 10,           /* how often to retry a child that is not listening yet */
    LINGER_MS = 50,          /* how long a member that has everything waits before closing; see check_done */
};

typedef struct member member;

typedef struct {
    member *owner;
    int index;               /* the child's member index, for messages */
    uv_tcp_t connection;
    uv_connect_t connect_request;
    uv_timer_t retry_timer;
    int connected;
    int ready;               /* its whole subtree is connected: it sent the ready byte */
} child_link;

/* One frame on its way to every child: freed when the last child's write has completed. */
typedef struct {
    member *owner;
    int pending;
    uv_write_t *requests;
    char *bytes;
} outgoing_frame;

struct member {
    struct relay_floor_member_config config;
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_tcp_t parent;          /* the connection our parent made to us; unused at the root */
    uv_timer_t timeout_timer;
    uv_timer_t send_timer;    /* root only */
    uv_timer_t linger_timer;
    uv_write_t ready_request;
    child_link *children;
    int child_count;
    int children_ready;
    int parent_connected;
    int ready_sent;
    int sending;              /* root: the whole tree is ready and the send timer runs */
    uint64_t send_start_ms;   /* root: loop time of the first send */
    int pending_writes;
    int forwarded;            /* frames written (or queued) to every child */
    int received;             /* frames read from the parent */
    unsigned char *partial;   /* the frame being accumulated from the parent */
    int partial_have;
    char *read_buffer;
    char child_read_buffer[64];
    int64_t *latencies;       /* by sequence: frames arrive in order (anything else fails the run) */
    int done;                 /* every frame received (or sent) and written on: only lingering is left */
    int finishing;
    int error;
};

static const char ready_byte = 'R';

static void close_any(uv_handle_t *handle, void *arg) {
    (void)arg;
    if (!uv_is_closing(handle)) uv_close(handle, NULL);
}

/* Closing every handle lets uv_run return; pending writes then complete with UV_ECANCELED and free themselves. */
static void finish(member *self) {
    if (self->finishing) return;
    self->finishing = 1;
    uv_walk(&self->loop, close_any, NULL);
}

/* A libuv call failed: its error is what the member returns. */
static void fail_uv(member *self, int status, const char *what) {
    if (self->finishing) return;
    fprintf(stderr, "relay floor member %d: %s: %s\n", self->config.index, what, uv_strerror(status));
    self->error = status;
    finish(self);
}

/* The run went wrong without a libuv error (timeout, peer gone early, bad frame): the member returns -1. */
static void fail(member *self, const char *what) {
    if (self->finishing) return;
    fprintf(stderr, "relay floor member %d: %s\n", self->config.index, what);
    self->error = -1;
    finish(self);
}

static void on_linger_over(uv_timer_t *timer) {
    finish(timer->data);
}

/* A member that has everything still waits LINGER_MS before it closes and returns: the last frame is still
   crossing the rest of the tree, and tearing down a process (sockets, memory, exit) takes CPU from the members
   it has not reached yet. Without the wait, the last frame measured ~10 ms to the deepest of 64 members on
   2 cores instead of ~1 ms. The timeout no longer applies: this member's part is over. */
static void check_done(member *self) {
    if (self->done || self->finishing || self->pending_writes > 0) return;
    int done = self->config.index == 0 ? (self->sending && self->forwarded == self->config.messages)
                                       : (self->ready_sent && self->received == self->config.messages);
    if (!done) return;
    self->done = 1;
    uv_timer_stop(&self->timeout_timer);
    uv_timer_start(&self->linger_timer, on_linger_over, LINGER_MS, 0);
}

static void on_frame_written(uv_write_t *request, int status) {
    outgoing_frame *frame = request->data;
    member *self = frame->owner;
    self->pending_writes--;
    if (--frame->pending == 0) {
        free(frame->requests);
        free(frame->bytes);
        free(frame);
    }
    if (self->finishing) return;
    if (status < 0) { fail_uv(self, status, "writing a frame to a child"); return; }
    check_done(self);
}

/* Every child gets its own write of the same bytes: uv_write sends at once when nothing is queued, so the
   first child is not held up by the others. */
static void forward(member *self, const unsigned char *bytes) {
    self->forwarded++;
    if (self->child_count == 0) return;
    outgoing_frame *frame = malloc(sizeof *frame);
    frame->owner = self;
    frame->pending = self->child_count;
    frame->requests = calloc((size_t)self->child_count, sizeof(uv_write_t));
    frame->bytes = malloc((size_t)self->config.frame_bytes);
    memcpy(frame->bytes, bytes, (size_t)self->config.frame_bytes);
    uv_buf_t buffer = uv_buf_init(frame->bytes, (unsigned int)self->config.frame_bytes);
    for (int index = 0; index < self->child_count; index++) {
        uv_write_t *request = &frame->requests[index];
        request->data = frame;
        self->pending_writes++;
        int status = uv_write(request, (uv_stream_t *)&self->children[index].connection, &buffer, 1, on_frame_written);
        if (status < 0) {
            /* No callback will come for this request or for the children not yet written to. */
            self->pending_writes--;
            frame->pending -= self->child_count - index;
            fail_uv(self, status, "queueing a frame to a child");
            break;
        }
    }
    if (frame->pending == 0) { free(frame->requests); free(frame->bytes); free(frame); }
}

static void put_u64(unsigned char *to, uint64_t value) {
    for (int index = 0; index < 8; index++) to[index] = (unsigned char)(value >> (8 * index));
}

static uint64_t get_u64(const unsigned char *from) {
    uint64_t value = 0;
    for (int index = 7; index >= 0; index--) value = (value << 8) | from[index];
    return value;
}

/* Root: the schedule is kept in loop time (milliseconds), the same clock the timer fires on, so a tick is
   never "slightly early" for its frame; with spacing under 1 ms a tick sends every frame that has come due.
   Each frame is stamped with uv_hrtime() (CLOCK_MONOTONIC on Linux) just before it is written. */
static uint64_t due_ms(member *self, int sequence) {
    return self->send_start_ms + (uint64_t)sequence * (uint64_t)self->config.spacing_us / 1000;
}

static void on_send_tick(uv_timer_t *timer) {
    member *self = timer->data;
    uint64_t now = uv_now(&self->loop);
    unsigned char *frame = self->partial; /* the root reads nothing: its parent buffer is free to build frames in */
    while (!self->finishing && self->forwarded < self->config.messages && due_ms(self, self->forwarded) <= now) {
        memset(frame, 0, (size_t)self->config.frame_bytes);
        put_u64(frame, (uint64_t)self->forwarded);
        put_u64(frame + 8, uv_hrtime());
        forward(self, frame);
    }
    if (self->finishing) return;
    if (self->forwarded < self->config.messages) {
        uv_timer_start(&self->send_timer, on_send_tick, due_ms(self, self->forwarded) - now, 0);
    } else {
        check_done(self);
    }
}

static void on_ready_written(uv_write_t *request, int status) {
    member *self = request->data;
    self->pending_writes--;
    if (self->finishing) return;
    if (status < 0) { fail_uv(self, status, "writing the ready byte to the parent"); return; }
    check_done(self);
}

/* The tree below us is connected: tell the parent, or at the root, start sending. */
static void maybe_ready(member *self) {
    if (self->finishing || self->children_ready < self->child_count) return;
    if (self->config.index == 0) {
        if (self->sending) return;
        self->sending = 1;
        uv_update_time(&self->loop);
        self->send_start_ms = uv_now(&self->loop);
        on_send_tick(&self->send_timer);
        return;
    }
    if (!self->parent_connected || self->ready_sent) return;
    self->ready_sent = 1;
    uv_buf_t buffer = uv_buf_init((char *)&ready_byte, 1);
    self->ready_request.data = self;
    self->pending_writes++;
    int status = uv_write(&self->ready_request, (uv_stream_t *)&self->parent, &buffer, 1, on_ready_written);
    if (status < 0) { self->pending_writes--; fail_uv(self, status, "queueing the ready byte to the parent"); return; }
    check_done(self);
}

static void on_parent_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    member *self = handle->data;
    *buf = uv_buf_init(self->read_buffer, READ_BUFFER);
}

static void on_frame(member *self, uint64_t now) {
    uint64_t sequence = get_u64(self->partial);
    uint64_t sent = get_u64(self->partial + 8);
    if (sequence != (uint64_t)self->received) {
        char what[96];
        snprintf(what, sizeof what, "frame %llu arrived where %d was expected", (unsigned long long)sequence, self->received);
        fail(self, what);
        return;
    }
    forward(self, self->partial);
    self->latencies[self->received] = (int64_t)(now - sent);
    self->received++;
}

static void on_parent_read(uv_stream_t *stream, ssize_t count, const uv_buf_t *buf) {
    member *self = stream->data;
    if (self->finishing) return;
    if (count < 0) {
        if (count == UV_EOF && self->received == self->config.messages) { uv_read_stop(stream); return; }
        char what[96];
        snprintf(what, sizeof what, "parent closed after %d of %d frames", self->received, self->config.messages);
        if (count == UV_EOF) fail(self, what);
        else fail_uv(self, (int)count, what);
        return;
    }
    /* One clock reading per read: every frame in it had arrived by then. */
    uint64_t now = uv_hrtime();
    const unsigned char *cursor = (const unsigned char *)buf->base;
    const unsigned char *end = cursor + count;
    while (cursor < end && !self->finishing) {
        if (self->received >= self->config.messages) { fail(self, "parent sent more frames than expected"); return; }
        int want = self->config.frame_bytes - self->partial_have;
        int take = (int)(end - cursor) < want ? (int)(end - cursor) : want;
        memcpy(self->partial + self->partial_have, cursor, (size_t)take);
        self->partial_have += take;
        cursor += take;
        if (self->partial_have == self->config.frame_bytes) {
            self->partial_have = 0;
            on_frame(self, now);
        }
    }
    check_done(self);
}

static void on_connection(uv_stream_t *listener, int status) {
    member *self = listener->data;
    if (self->finishing) return;
    if (status < 0) { fail_uv(self, status, "accepting the parent's connection"); return; }
    if (self->parent_connected || self->config.index == 0) {
        /* Only our parent should connect; anyone else is turned away. */
        uv_tcp_t *stray = malloc(sizeof *stray);
        uv_tcp_init(&self->loop, stray);
        uv_accept(listener, (uv_stream_t *)stray);
        uv_close((uv_handle_t *)stray, (uv_close_cb)free);
        return;
    }
    uv_tcp_init(&self->loop, &self->parent);
    self->parent.data = self;
    status = uv_accept(listener, (uv_stream_t *)&self->parent);
    if (status == 0) status = uv_tcp_nodelay(&self->parent, 1);
    if (status == 0) status = uv_read_start((uv_stream_t *)&self->parent, on_parent_alloc, on_parent_read);
    if (status < 0) { fail_uv(self, status, "accepting the parent's connection"); return; }
    self->parent_connected = 1;
    maybe_ready(self);
}

static void on_child_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    child_link *child = handle->data;
    *buf = uv_buf_init(child->owner->child_read_buffer, sizeof child->owner->child_read_buffer);
}

/* A child sends one ready byte and then nothing; EOF is expected only once it has every frame. */
static void on_child_read(uv_stream_t *stream, ssize_t count, const uv_buf_t *buf) {
    (void)buf;
    child_link *child = stream->data;
    member *self = child->owner;
    if (self->finishing) return;
    if (count < 0) {
        if (count == UV_EOF && child->ready && self->forwarded == self->config.messages) { uv_read_stop(stream); return; }
        char what[96];
        snprintf(what, sizeof what, "child %d closed after %d of %d frames", child->index, self->forwarded, self->config.messages);
        if (count == UV_EOF) fail(self, what);
        else fail_uv(self, (int)count, what);
        return;
    }
    if (count > 0 && !child->ready) {
        child->ready = 1;
        self->children_ready++;
        maybe_ready(self);
    }
}

static void connect_child(child_link *child);

static void on_retry(uv_timer_t *timer) {
    child_link *child = timer->data;
    if (!child->owner->finishing) connect_child(child);
}

static void on_closed_for_retry(uv_handle_t *handle) {
    child_link *child = handle->data;
    if (!child->owner->finishing) uv_timer_start(&child->retry_timer, on_retry, RETRY_MS, 0);
}

static void on_child_connected(uv_connect_t *request, int status) {
    child_link *child = request->data;
    member *self = child->owner;
    if (self->finishing) return;
    if (status == UV_ECONNREFUSED) {
        /* The child's process has not bound its port yet: a failed handle cannot be reused, so close and retry. */
        uv_close((uv_handle_t *)&child->connection, on_closed_for_retry);
        return;
    }
    if (status == 0) status = uv_tcp_nodelay(&child->connection, 1);
    if (status == 0) status = uv_read_start((uv_stream_t *)&child->connection, on_child_alloc, on_child_read);
    if (status < 0) {
        char what[64];
        snprintf(what, sizeof what, "connecting to child %d", child->index);
        fail_uv(self, status, what);
        return;
    }
    child->connected = 1;
}

static void connect_child(child_link *child) {
    member *self = child->owner;
    struct sockaddr_in address;
    uv_ip4_addr("127.0.0.1", self->config.base_port + child->index, &address);
    uv_tcp_init(&self->loop, &child->connection);
    child->connection.data = child;
    child->connect_request.data = child;
    int status = uv_tcp_connect(&child->connect_request, &child->connection, (const struct sockaddr *)&address, on_child_connected);
    if (status < 0) {
        char what[64];
        snprintf(what, sizeof what, "connecting to child %d", child->index);
        fail_uv(self, status, what);
    }
}

static void on_timeout(uv_timer_t *timer) {
    member *self = timer->data;
    char what[192];
    snprintf(what, sizeof what,
             "timed out after %d ms (%s, %d of %d children ready, %d received, %d forwarded of %d frames)",
             self->config.timeout_ms,
             self->config.index == 0 ? "root" : self->parent_connected ? "parent connected" : "parent not connected",
             self->children_ready, self->child_count, self->received, self->forwarded, self->config.messages);
    fail(self, what);
}

static int check_config(const struct relay_floor_member_config *config) {
    if (config->processes < 1 || config->index < 0 || config->index >= config->processes) return 0;
    if (config->fanout < 1 || config->messages < 0 || config->frame_bytes < HEADER_BYTES) return 0;
    if (config->spacing_us < 0 || config->timeout_ms < 1) return 0;
    if (config->base_port < 1 || config->base_port + config->processes - 1 > 65535) return 0;
    return 1;
}

int relay_floor_run_member(const struct relay_floor_member_config *config, FILE *out) {
    if (!check_config(config)) {
        fprintf(stderr, "relay floor member %d: invalid configuration\n", config->index);
        return -1;
    }
    member *self = calloc(1, sizeof *self);
    self->config = *config;
    self->partial = calloc(1, (size_t)config->frame_bytes);
    self->read_buffer = malloc(READ_BUFFER);
    self->latencies = calloc((size_t)config->messages + 1, sizeof *self->latencies);

    long first_child = (long)config->index * config->fanout + 1;
    long children = config->processes - first_child;
    self->child_count = children <= 0 ? 0 : (int)(children < config->fanout ? children : config->fanout);
    self->children = calloc((size_t)self->child_count + 1, sizeof *self->children);

    int status = uv_loop_init(&self->loop);
    if (status < 0) {
        fprintf(stderr, "relay floor member %d: creating the loop: %s\n", config->index, uv_strerror(status));
        goto cleanup;
    }
    uv_timer_init(&self->loop, &self->timeout_timer);
    self->timeout_timer.data = self;
    uv_timer_start(&self->timeout_timer, on_timeout, (uint64_t)config->timeout_ms, 0);
    uv_timer_init(&self->loop, &self->send_timer);
    self->send_timer.data = self;
    uv_timer_init(&self->loop, &self->linger_timer);
    self->linger_timer.data = self;

    /* uv_tcp_bind may defer EADDRINUSE to uv_listen, so both are checked. */
    struct sockaddr_in address;
    uv_ip4_addr("127.0.0.1", config->base_port + config->index, &address);
    uv_tcp_init(&self->loop, &self->listener);
    self->listener.data = self;
    status = uv_tcp_bind(&self->listener, (const struct sockaddr *)&address, 0);
    if (status == 0) status = uv_listen((uv_stream_t *)&self->listener, 16, on_connection);
    if (status < 0) {
        char what[64];
        snprintf(what, sizeof what, "listening on 127.0.0.1:%d", config->base_port + config->index);
        fail_uv(self, status, what);
    }

    for (int index = 0; index < self->child_count && !self->finishing; index++) {
        child_link *child = &self->children[index];
        child->owner = self;
        child->index = (int)first_child + index;
        uv_timer_init(&self->loop, &child->retry_timer);
        child->retry_timer.data = child;
        connect_child(child);
    }
    maybe_ready(self); /* a root without children is ready at once */

    uv_run(&self->loop, UV_RUN_DEFAULT);
    int closed = uv_loop_close(&self->loop);
    status = self->error;
    if (status == 0 && closed != 0) {
        fprintf(stderr, "relay floor member %d: closing the loop: %s\n", config->index, uv_strerror(closed));
        status = closed;
    }
    if (status == 0) {
        for (int index = 0; index < self->received; index++) {
            fprintf(out, "%d %lld\n", index, (long long)self->latencies[index]);
        }
        fflush(out);
    }

cleanup:
    free(self->children);
    free(self->latencies);
    free(self->read_buffer);
    free(self->partial);
    free(self);
    return status;
}
