/*
 * signals.h: cprof's use of signals, and what it does when the program uses
 * the same ones. sigaction and signal are interposed so that the program
 * keeps seeing (and getting) exactly the dispositions it asked for.
 */
#ifndef CPROF_SIGNALS_H
#define CPROF_SIGNALS_H

#include <signal.h>

typedef void (*cprof_sig_fn)(int sig, siginfo_t *info, void *ucontext);

/* Installs `fn` for SIGPROF unless the program has a handler there already.
 * `taken` is called (not in signal context) if the program installs its own
 * later; from then on SIGPROF is the program's. 0, or -1 if the program
 * owns SIGPROF. */
int cprof__signals_take_prof(cprof_sig_fn fn, void (*taken)(void));

/* On SIGINT and SIGTERM whose disposition is the default, calls
 * on_fatal(sig) from the handler (it must be async-signal-safe and arrange
 * for the profiles to be written and the signal re-raised). A program that
 * installs its own handler for them takes them over: its normal exit writes
 * the profiles then. */
void cprof__signals_watch_fatal(void (*on_fatal)(int sig));

/* Kills the process with `sig` the way it would have died without cprof:
 * default disposition, unblocked, raised. Async-signal-safe. */
void cprof__signals_die(int sig);

/* The real sigaction, bypassing the interposition. */
int cprof__real_sigaction(int sig, const struct sigaction *act, struct sigaction *old);

#endif
