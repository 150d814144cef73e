/*
 * The reference for `make bench`: the smallest libmicrohttpd server that does what one
 * chat request does at the HTTP level. It reads a small JSON body and answers a small
 * JSON body, on one epoll internal thread with keep-alive, exactly like chatd's gateway
 * but with no work behind it. Its requests per second is this machine's limit for one
 * HTTP request; every chatd throughput figure is reported as a ratio to it.
 *
 *     cc -O2 -o bench/work/reference bench/reference.c -lmicrohttpd
 *     bench/work/reference 8099
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char reply[] =
    "{\"id\":\"00000000-0000-0000-0000-000000000000\",\"seq\":1,\"from\":\"alice\","
    "\"to\":\"bob\",\"body\":\"hello\",\"sent_at\":\"2026-01-01T00:00:00Z\"}";

static volatile sig_atomic_t stopping = 0;

static void on_signal(int number) {
    (void)number;
    stopping = 1;
}

/* Keep-alive survives only if the first call for a request queues nothing (MEASURED.md),
 * so the first call marks the request as seen and the answer comes once the body is read. */
static enum MHD_Result answer(void *context, struct MHD_Connection *connection, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_data_size, void **request_state) {
    (void)context; (void)url; (void)method; (void)version; (void)upload_data;
    static int seen;
    if (*request_state == NULL) {
        *request_state = &seen;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    struct MHD_Response *response =
        MHD_create_response_from_buffer(sizeof reply - 1, (void *)reply, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(response, "Content-Type", "application/json");
    enum MHD_Result queued = MHD_queue_response(connection, 201, response);
    MHD_destroy_response(response);
    return queued;
}

int main(int argc, char **argv) {
    unsigned short port = argc > 1 ? (unsigned short)atoi(argv[1]) : 8099;
    struct sockaddr_in address;
    memset(&address, 0, sizeof address);
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *daemon = MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, port, NULL, NULL, &answer, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&address,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned int)15000,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)90,
        MHD_OPTION_END);
    if (daemon == NULL) {
        fprintf(stderr, "reference: cannot listen on port %u\n", port);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    printf("reference listening on http://127.0.0.1:%u\n", port);
    fflush(stdout);
    while (!stopping) pause();
    MHD_stop_daemon(daemon);
    return 0;
}
