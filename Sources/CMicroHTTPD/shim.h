#ifndef CHAT_MICROHTTPD_SHIM_H
#define CHAT_MICROHTTPD_SHIM_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/select.h>
#include <microhttpd.h>

/// Settings for `chat_mhd_start`; Swift fills this plain struct instead of calling the
/// variadic MHD_start_daemon.
struct chat_mhd_settings {
    const char *bind_address;      /* IPv4 dotted quad, e.g. "127.0.0.1" */
    uint16_t port;                 /* 0 picks a free port */
    unsigned int connection_limit;
    unsigned int connection_timeout_seconds;
    size_t connection_memory_limit;
    MHD_AccessHandlerCallback handler;
    void *handler_context;
    MHD_RequestCompletedCallback completed;
    void *completed_context;
};

/// Starts an epoll daemon with its own thread and suspend/resume; NULL on failure.
static inline struct MHD_Daemon *chat_mhd_start(const struct chat_mhd_settings *s) {
    struct sockaddr_in address;
    memset(&address, 0, sizeof(address));
    address.sin_family = AF_INET;
    address.sin_port = htons(s->port);
    if (inet_pton(AF_INET, s->bind_address, &address.sin_addr) != 1) {
        return NULL;
    }
    struct MHD_OptionItem options[] = {
        { MHD_OPTION_SOCK_ADDR, 0, &address },
        { MHD_OPTION_CONNECTION_LIMIT, (intptr_t)s->connection_limit, NULL },
        { MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)s->connection_timeout_seconds, NULL },
        { MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)s->connection_memory_limit, NULL },
        { MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)s->completed, s->completed_context },
        { MHD_OPTION_LISTENING_ADDRESS_REUSE, 1, NULL },
        { MHD_OPTION_END, 0, NULL },
    };
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
    return MHD_start_daemon(flags, s->port, NULL, NULL, s->handler, s->handler_context,
                            MHD_OPTION_ARRAY, options, MHD_OPTION_END);
}

/// The port the daemon listens on (useful when started with port 0).
static inline uint16_t chat_mhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

#endif
