#ifndef CHAT_MICROHTTPD_SHIM_H
#define CHAT_MICROHTTPD_SHIM_H

#include <arpa/inet.h>
#include <netdb.h>
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
    const char *bind_address;      /* an IPv4 or IPv6 address, or a host name resolved to its first address */
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
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    struct addrinfo *found = NULL;
    if (getaddrinfo(s->bind_address, NULL, &hints, &found) != 0 || found == NULL) {
        return NULL;
    }
    struct sockaddr_storage address;
    memset(&address, 0, sizeof(address));
    memcpy(&address, found->ai_addr, found->ai_addrlen);
    int is_ipv6 = found->ai_family == AF_INET6;
    freeaddrinfo(found);
    if (is_ipv6) {
        ((struct sockaddr_in6 *)&address)->sin6_port = htons(s->port);
    } else {
        ((struct sockaddr_in *)&address)->sin_port = htons(s->port);
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
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG
        | (is_ipv6 ? MHD_USE_IPv6 : 0);
    return MHD_start_daemon(flags, s->port, NULL, NULL, s->handler, s->handler_context,
                            MHD_OPTION_ARRAY, options, MHD_OPTION_END);
}

/// The port the daemon listens on (useful when started with port 0).
static inline uint16_t chat_mhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

#endif
