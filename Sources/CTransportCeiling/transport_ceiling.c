/* The ceiling for Rumor's transport benchmark: the fastest a plain libuv pair on this machine moves
   length-prefixed frames, with batched writes and a reader that only counts. Nothing here decodes. */
#include "transport_ceiling.h"
#include <uv.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

/* 1 MiB batches and 256 KiB reads were the fastest settings measured on this machine. */
enum { BATCH_BYTES = 1024 * 1024, WRITES_IN_FLIGHT = 2, READ_BUFFER = 256 * 1024 };

typedef struct {
    uv_loop_t loop;
    uv_tcp_t listener;
    uv_tcp_t connection;
    char *read_buffer;
    uint64_t frames;
    uint64_t bytes;
    uint64_t frame_remaining; /* bytes of the current frame still to come */
    unsigned char prefix[4];
    int prefix_have;
    uint64_t first_byte_ns;
    uint64_t last_byte_ns;
    int error;
} receiver_state;

typedef struct {
    uv_loop_t loop;
    uv_tcp_t connection;
    uv_connect_t connect_request;
    uv_write_t writes[WRITES_IN_FLIGHT];
    char *batch;
    size_t batch_bytes;
    uint64_t deadline_ns;
    int port;
    int stopping;
    int in_flight;
    int error;
} sender_state;

static void on_alloc(uv_handle_t *handle, size_t suggested, uv_buf_t *buf) {
    (void)suggested;
    receiver_state *state = handle->data;
    *buf = uv_buf_init(state->read_buffer, READ_BUFFER);
}

static void on_read(uv_stream_t *stream, ssize_t count, const uv_buf_t *buf) {
    receiver_state *state = stream->data;
    if (count < 0) {
        if (count != UV_EOF) state->error = (int)count;
        uv_close((uv_handle_t *)stream, NULL);
        uv_close((uv_handle_t *)&state->listener, NULL);
        return;
    }
    uint64_t now = uv_hrtime();
    if (state->first_byte_ns == 0) state->first_byte_ns = now;
    state->last_byte_ns = now;
    state->bytes += (uint64_t)count;
    const unsigned char *cursor = (const unsigned char *)buf->base;
    const unsigned char *end = cursor + count;
    while (cursor < end) {
        if (state->frame_remaining > 0) {
            size_t take = (size_t)(end - cursor) < state->frame_remaining ? (size_t)(end - cursor) : state->frame_remaining;
            cursor += take;
            state->frame_remaining -= take;
            if (state->frame_remaining == 0) state->frames++;
            continue;
        }
        state->prefix[state->prefix_have++] = *cursor++;
        if (state->prefix_have == 4) {
            state->prefix_have = 0;
            state->frame_remaining = ((uint64_t)state->prefix[0] << 24) | ((uint64_t)state->prefix[1] << 16) |
                                     ((uint64_t)state->prefix[2] << 8) | state->prefix[3];
            if (state->frame_remaining == 0) state->frames++;
        }
    }
}

static void on_connection(uv_stream_t *listener, int status) {
    receiver_state *state = listener->data;
    if (status < 0) { state->error = status; return; }
    uv_tcp_init(&state->loop, &state->connection);
    state->connection.data = state;
    if (uv_accept(listener, (uv_stream_t *)&state->connection) == 0) {
        uv_read_start((uv_stream_t *)&state->connection, on_alloc, on_read);
    }
}

static void start_write(sender_state *state, uv_write_t *request);

static void on_write(uv_write_t *request, int status) {
    sender_state *state = request->data;
    state->in_flight--;
    if (status < 0) state->error = status;
    if (status < 0 || state->stopping || uv_hrtime() >= state->deadline_ns) {
        state->stopping = 1;
        if (state->in_flight == 0) uv_close((uv_handle_t *)&state->connection, NULL);
        return;
    }
    start_write(state, request);
}

static void start_write(sender_state *state, uv_write_t *request) {
    uv_buf_t buffer = uv_buf_init(state->batch, (unsigned int)state->batch_bytes);
    request->data = state;
    state->in_flight++;
    int result = uv_write(request, (uv_stream_t *)&state->connection, &buffer, 1, on_write);
    if (result < 0) { state->in_flight--; state->error = result; state->stopping = 1; }
}

static void on_connect(uv_connect_t *request, int status) {
    sender_state *state = request->data;
    if (status < 0) { state->error = status; uv_close((uv_handle_t *)&state->connection, NULL); return; }
    for (int index = 0; index < WRITES_IN_FLIGHT; index++) start_write(state, &state->writes[index]);
}

static void *run_loop(void *loop) {
    uv_run((uv_loop_t *)loop, UV_RUN_DEFAULT);
    return NULL;
}

rumor_ceiling_result rumor_ceiling_run(size_t frame_size, double seconds) {
    rumor_ceiling_result result = {0, 0, 0, 0};
    if (frame_size < 4) frame_size = 4;
    receiver_state *receiver = calloc(1, sizeof *receiver);
    sender_state *sender = calloc(1, sizeof *sender);
    receiver->read_buffer = malloc(READ_BUFFER);

    /* One batch of whole frames, each a length prefix and zero bytes of body. */
    size_t frames_per_batch = frame_size >= BATCH_BYTES ? 1 : BATCH_BYTES / frame_size;
    sender->batch_bytes = frames_per_batch * frame_size;
    sender->batch = calloc(1, sender->batch_bytes);
    uint32_t body = (uint32_t)(frame_size - 4);
    for (size_t index = 0; index < frames_per_batch; index++) {
        unsigned char *prefix = (unsigned char *)sender->batch + index * frame_size;
        prefix[0] = body >> 24; prefix[1] = body >> 16; prefix[2] = body >> 8; prefix[3] = body;
    }

    uv_loop_init(&receiver->loop);
    uv_tcp_init(&receiver->loop, &receiver->listener);
    receiver->listener.data = receiver;
    struct sockaddr_in address;
    uv_ip4_addr("127.0.0.1", 0, &address);
    int status = uv_tcp_bind(&receiver->listener, (const struct sockaddr *)&address, 0);
    if (status == 0) status = uv_listen((uv_stream_t *)&receiver->listener, 16, on_connection);
    if (status < 0) { result.error = status; goto cleanup; }
    struct sockaddr_storage bound;
    int length = sizeof bound;
    uv_tcp_getsockname(&receiver->listener, (struct sockaddr *)&bound, &length);
    sender->port = ntohs(((struct sockaddr_in *)&bound)->sin_port);

    uv_loop_init(&sender->loop);
    uv_tcp_init(&sender->loop, &sender->connection);
    sender->connection.data = sender;
    sender->connect_request.data = sender;
    sender->deadline_ns = uv_hrtime() + (uint64_t)(seconds * 1e9);
    uv_ip4_addr("127.0.0.1", sender->port, &address);
    uv_tcp_connect(&sender->connect_request, &sender->connection, (const struct sockaddr *)&address, on_connect);

    pthread_t receiver_thread, sender_thread;
    pthread_create(&receiver_thread, NULL, run_loop, &receiver->loop);
    pthread_create(&sender_thread, NULL, run_loop, &sender->loop);
    pthread_join(sender_thread, NULL);
    pthread_join(receiver_thread, NULL);
    uv_loop_close(&sender->loop);
    uv_loop_close(&receiver->loop);

    result.frames = receiver->frames;
    result.bytes = receiver->bytes;
    result.seconds = (double)(receiver->last_byte_ns - receiver->first_byte_ns) / 1e9;
    result.error = sender->error ? sender->error : receiver->error;
cleanup:
    free(sender->batch);
    free(receiver->read_buffer);
    free(sender);
    free(receiver);
    return result;
}
