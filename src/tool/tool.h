/*
 * tool.h: what the subcommands of `cprof` share.
 */
#ifndef CPROF_TOOL_H
#define CPROF_TOOL_H

/* Every subcommand: argv[0] is the subcommand's name. Returns the exit status. */
typedef int (*cprof_cmd_fn)(int argc, char **argv);

int cmd_run(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_benchstat(int argc, char **argv);
int cmd_doctor(int argc, char **argv);
int cmd_trace(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_peek(int argc, char **argv);
int cmd_flame(int argc, char **argv);
int cmd_folded(int argc, char **argv);
int cmd_dot(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_explain(int argc, char **argv);
int cmd_web(int argc, char **argv);

/* Prints "cprof: <message>" on stderr (one line). */
void tool_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Matches a Go-style flag: "-name=value", "--name=value", "-name value"
 * (value taken from argv[*i+1], advancing *i). Returns the value or NULL if
 * argv[*i] is not that flag. For boolean flags use tool_flag_bool. */
const char *tool_flag_value(int argc, char **argv, int *i, const char *name);
/* "-name", "--name", "-name=true|false|1|0". Returns 1 if matched (and sets
 * *value), 0 if not this flag, -1 if malformed (error printed). */
int tool_flag_bool(char **argv, int i, const char *name, int *value);

#endif
