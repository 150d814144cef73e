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
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <errno.h>
#include <unistd.h>
#include <microhttpd.h>
#include <gnutls/gnutls.h>
#include <gnutls/abstract.h>
#include <pthread.h>
#include <stdlib.h>

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
    int use_tls;                   /* serve HTTPS with the credentials of chat_tls_install */
    const char *client_ca_pem;     /* with TLS: ask clients for a certificate and verify it against this CA; may be NULL */
    MHD_LogCallback log;           /* libmicrohttpd's error messages, instead of raw lines on stderr */
    void *log_context;
};

/* --- TLS ---------------------------------------------------------------------------------
 * The server's certificate and key are handed to GnuTLS by a callback at each handshake, so
 * that chat_tls_install can swap them while the daemon runs (SIGHUP) without a new daemon and
 * without dropping a connection. A process serves one HTTPS daemon, hence one global slot.
 * Replaced credentials are never freed: a handshake may still be using them, and a reload
 * leaks only a few kilobytes. */

struct chat_tls_credentials {
    gnutls_pcert_st certificates[16];
    unsigned int count;
    gnutls_privkey_t key;
};

/* Weak, not static: Swift's cross-module optimisation in release builds can inline a caller of
 * chat_tls_install into another module, which would then get its own copy of a static slot
 * while GnuTLS's callback reads the daemon module's empty one (every handshake failed).
 * A weak definition is merged into one by the linker, whichever modules include this header. */
__attribute__((weak)) pthread_mutex_t chat_tls_lock = PTHREAD_MUTEX_INITIALIZER;
__attribute__((weak)) struct chat_tls_credentials *chat_tls_current = NULL;

static inline int chat_tls_retrieve(gnutls_session_t session, const gnutls_datum_t *requested_cas,
                                    int requested_count, const gnutls_pk_algorithm_t *algorithms,
                                    int algorithm_count, gnutls_pcert_st **certificates,
                                    unsigned int *certificate_count, gnutls_privkey_t *key) {
    (void)session; (void)requested_cas; (void)requested_count; (void)algorithms; (void)algorithm_count;
    pthread_mutex_lock(&chat_tls_lock);
    struct chat_tls_credentials *current = chat_tls_current;
    pthread_mutex_unlock(&chat_tls_lock);
    if (current == NULL) return -1;
    *certificates = current->certificates;
    *certificate_count = current->count;
    *key = current->key;
    return 0;
}

/// Parses a PEM certificate chain and its PEM private key, checks that they belong together,
/// and makes them the ones every new handshake presents. 0 on success, else a GnuTLS error
/// code (see chat_tls_error).
static inline int chat_tls_install(const char *certificate_pem, const char *key_pem) {
    gnutls_datum_t certificate = { (unsigned char *)certificate_pem, (unsigned int)strlen(certificate_pem) };
    gnutls_datum_t key = { (unsigned char *)key_pem, (unsigned int)strlen(key_pem) };
    /* GnuTLS refuses a key that does not match the certificate here. */
    gnutls_certificate_credentials_t check;
    int result = gnutls_certificate_allocate_credentials(&check);
    if (result < 0) return result;
    result = gnutls_certificate_set_x509_key_mem(check, &certificate, &key, GNUTLS_X509_FMT_PEM);
    gnutls_certificate_free_credentials(check);
    if (result < 0) return result;

    struct chat_tls_credentials *loaded = calloc(1, sizeof(struct chat_tls_credentials));
    if (loaded == NULL) return GNUTLS_E_MEMORY_ERROR;
    loaded->count = 16;
    result = gnutls_pcert_list_import_x509_raw(loaded->certificates, &loaded->count, &certificate,
                                               GNUTLS_X509_FMT_PEM, 0);
    if (result < 0) { free(loaded); return result; }
    result = gnutls_privkey_init(&loaded->key);
    if (result >= 0) result = gnutls_privkey_import_x509_raw(loaded->key, &key, GNUTLS_X509_FMT_PEM, NULL, 0);
    if (result < 0) {
        for (unsigned int i = 0; i < loaded->count; i++) gnutls_pcert_deinit(&loaded->certificates[i]);
        free(loaded);
        return result;
    }
    pthread_mutex_lock(&chat_tls_lock);
    chat_tls_current = loaded;
    pthread_mutex_unlock(&chat_tls_lock);
    return 0;
}

static inline const char *chat_tls_error(int code) { return gnutls_strerror(code); }

/// Whether the client of this TLS connection presented a certificate that verifies against
/// the daemon's client CA. Never true on a plain connection.
static inline int chat_mhd_client_verified(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (info == NULL || info->tls_session == NULL) return 0;
    gnutls_session_t session = (gnutls_session_t)info->tls_session;
    unsigned int presented = 0;
    if (gnutls_certificate_get_peers(session, &presented) == NULL || presented == 0) return 0;
    unsigned int status = 0;
    if (gnutls_certificate_verify_peers2(session, &status) < 0) return 0;
    return status == 0;
}

/// The socket of a connection, or -1 when MHD does not tell.
static inline int chat_mhd_connection_fd(struct MHD_Connection *connection) {
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    return info == NULL ? -1 : info->connect_fd;
}

/* Watching suspended connections for clients that leave (MHD stops watching a suspended
   socket). Swift's Glibc module has no epoll. Each watch is one-shot and carries a tag. */
#define CHAT_DEPARTURES_STOP_TAG UINT64_MAX

/// An epoll instance with `*stop_fd` (an eventfd) registered under the stop tag; -1 on failure.
static inline int chat_departures_create(int *stop_fd) {
    int watcher = epoll_create1(EPOLL_CLOEXEC);
    if (watcher < 0) return -1;
    *stop_fd = eventfd(0, EFD_CLOEXEC);
    struct epoll_event event = { .events = EPOLLIN, .data.u64 = CHAT_DEPARTURES_STOP_TAG };
    if (*stop_fd < 0 || epoll_ctl(watcher, EPOLL_CTL_ADD, *stop_fd, &event) != 0) {
        if (*stop_fd >= 0) close(*stop_fd);
        close(watcher);
        return -1;
    }
    return watcher;
}

/// Reports `tag` once when the client of `socket` closes or shuts down its side, replacing an
/// earlier watch of the same socket. 0 on success.
static inline int chat_departures_watch(int watcher, int socket, uint64_t tag) {
    struct epoll_event event = { .events = EPOLLRDHUP | EPOLLONESHOT, .data.u64 = tag };
    if (epoll_ctl(watcher, EPOLL_CTL_MOD, socket, &event) == 0) return 0;
    if (errno != ENOENT) return -1;
    return epoll_ctl(watcher, EPOLL_CTL_ADD, socket, &event);
}

/// Waits for reports and copies up to `capacity` (at most 64) tags; 0 when interrupted, -1 on error.
static inline int chat_departures_wait(int watcher, uint64_t *tags, int capacity) {
    struct epoll_event events[64];
    int count = epoll_wait(watcher, events, capacity < 64 ? capacity : 64, -1);
    if (count < 0) return errno == EINTR ? 0 : -1;
    for (int i = 0; i < count; i++) tags[i] = events[i].data.u64;
    return count;
}

/* libmicrohttpd 0.9.75 keeps every query argument in a record of the connection's memory pool.
   When the records of a query with many short arguments fill the pool while the request line
   is parsed, it neither answers nor closes the connection: the client waits until the idle
   timeout. This guard sees the whole URI before the arguments are parsed and answers one that
   would not fit as libmicrohttpd answers any other request that outgrows the pool: 414 with no
   body, and the connection closed (only its sending side, so the client reads the answer rather
   than a reset). Over TLS the socket carries records, not text: it is shut down without an
   answer. The estimate is conservative: a query argument costs its bytes in the read buffer plus
   a record of about 64 bytes. `context` is non-NULL on a TLS daemon. */
#define CHAT_POOL_BUDGET_BYTES 2400

static inline void *chat_uri_guard(void *context, const char *uri, struct MHD_Connection *connection) {
    static const char answer[] = "HTTP/1.1 414 URI Too Long\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
    const char *query = strchr(uri, '?');
    if (query == NULL) return NULL;
    size_t arguments = 1;
    for (const char *p = query; *p != '\0'; p++) {
        if (*p == '&') arguments++;
    }
    if (arguments > 24 || strlen(uri) + arguments * 64 > CHAT_POOL_BUDGET_BYTES) {
        const union MHD_ConnectionInfo *info = MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (info == NULL) return NULL;
        if (context == NULL) {
            (void)send(info->connect_fd, answer, sizeof(answer) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
            shutdown(info->connect_fd, SHUT_WR);
        } else {
            shutdown(info->connect_fd, SHUT_RDWR);
        }
    }
    return NULL;
}

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
        /* First: a message about an option before it would still go to stderr. */
        { MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)s->log, s->log_context },
        { MHD_OPTION_SOCK_ADDR, 0, &address },
        { MHD_OPTION_CONNECTION_LIMIT, (intptr_t)s->connection_limit, NULL },
        { MHD_OPTION_CONNECTION_TIMEOUT, (intptr_t)s->connection_timeout_seconds, NULL },
        { MHD_OPTION_CONNECTION_MEMORY_LIMIT, (intptr_t)s->connection_memory_limit, NULL },
        { MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)s->completed, s->completed_context },
        { MHD_OPTION_URI_LOG_CALLBACK, (intptr_t)&chat_uri_guard, s->use_tls ? (void *)(intptr_t)1 : NULL },
        { MHD_OPTION_END, 0, NULL },
    };
    unsigned int flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG
        | (is_ipv6 ? MHD_USE_IPv6 : 0) | (s->use_tls ? MHD_USE_TLS : 0);
    if (!s->use_tls) {
        return MHD_start_daemon(flags, s->port, NULL, NULL, s->handler, s->handler_context,
                                MHD_OPTION_ARRAY, options, MHD_OPTION_END);
    }
    /* MHD_OPTION_HTTPS_MEM_TRUST makes MHD ask every client for a certificate (GNUTLS_CERT_REQUEST),
       without requiring one; chat_mhd_client_verified then tells who presented a valid one. */
    return MHD_start_daemon(flags, s->port, NULL, NULL, s->handler, s->handler_context,
                            MHD_OPTION_ARRAY, options,
                            MHD_OPTION_HTTPS_CERT_CALLBACK, &chat_tls_retrieve,
                            s->client_ca_pem ? MHD_OPTION_HTTPS_MEM_TRUST : MHD_OPTION_END, s->client_ca_pem,
                            MHD_OPTION_END);
}

/// The port the daemon listens on (useful when started with port 0).
static inline uint16_t chat_mhd_bound_port(struct MHD_Daemon *daemon) {
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT);
    return info == NULL ? 0 : info->port;
}

#endif
