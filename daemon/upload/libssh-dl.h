/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* libssh is loaded when the first upload starts, not when fsmond starts:
 * with it come libcrypto and Kerberos (about 2.4 MiB of resident pages),
 * which a daemon that uploads once a day should not carry while it follows
 * the kernel's events. The upload code calls sym_ssh_*() instead of ssh_*(). */

#include <libssh/libssh.h>

#define LIBSSH_DL_SYMBOLS(X)                    \
        X(ssh_channel_close)                    \
        X(ssh_channel_free)                     \
        X(ssh_channel_is_closed)                \
        X(ssh_channel_is_eof)                   \
        X(ssh_channel_new)                      \
        X(ssh_channel_open_session)             \
        X(ssh_channel_read_timeout)             \
        X(ssh_channel_request_subsystem)        \
        X(ssh_channel_send_eof)                 \
        X(ssh_channel_write)                    \
        X(ssh_clean_pubkey_hash)                \
        X(ssh_connect)                          \
        X(ssh_disconnect)                       \
        X(ssh_free)                             \
        X(ssh_get_error)                        \
        X(ssh_get_fingerprint_hash)             \
        X(ssh_get_publickey_hash)               \
        X(ssh_get_server_publickey)             \
        X(ssh_key_free)                         \
        X(ssh_key_type)                         \
        X(ssh_key_type_to_char)                 \
        X(ssh_new)                              \
        X(ssh_options_set)                      \
        X(ssh_session_is_known_server)          \
        X(ssh_string_free_char)                 \
        X(ssh_userauth_kbdint)                  \
        X(ssh_userauth_kbdint_getnprompts)      \
        X(ssh_userauth_kbdint_getprompt)        \
        X(ssh_userauth_kbdint_setanswer)        \
        X(ssh_userauth_list)                    \
        X(ssh_userauth_none)                    \
        X(ssh_userauth_password)

#define LIBSSH_DL_DECLARE(name) extern __typeof__(name) *sym_##name;
LIBSSH_DL_SYMBOLS(LIBSSH_DL_DECLARE)
#undef LIBSSH_DL_DECLARE

/* Loads libssh once (thread-safe; it stays loaded). 0, or -EOPNOTSUPP when
 * the library or one of its symbols is missing (*ret_error says which, as
 * dlerror() put it). */
int libssh_dl_open(const char **ret_error);
