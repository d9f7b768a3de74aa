/*
 * Compiler shim of pytest-mjit.
 *
 * Stands in for the C compiler.  Its control directory is the directory holding this binary
 * (found through /proc/self/exe).  There it reads "shim.conf":
 *
 *   real <path of the real compiler>
 *   maxhold <seconds a hold or hang may last before it lets go by itself>
 *   rule <id> <action> <kind or *> <nth or 0> <arg> <match or empty> [<owner pid>
 *        [<objects>]]                                                  (tab separated)
 *
 * and appends one "start" and one "end" record per invocation to "shim.log" (one write(2)
 * each on an O_APPEND descriptor); the "end" record says when the real compiler was started
 * (0 if it never was), so that its own time is known apart from holds and faults.  Actions: hold (wait for release, then compile), fail (exit
 * 1 without compiling), crash (die by signal <arg>), hang (wait for release, then exit 1),
 * slow (sleep <arg> ms, then compile).  A rule is released by the file "release.<id>"; the
 * shim announces that it reached a hold with the file "reached.<id>.<pid>".  A rule with an
 * owner pid applies only to invocations whose parent is that process (the one that armed
 * it), so a forked child of the engine never claims its parent's holds and faults.  A rule
 * with <objects> above 0 applies only to invocations naming at least that many ".o" files
 * (a compaction's link, not one unit's).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_RULES 1024   /* the controller refuses more (MAX_RULES in _control.py) */
#define LINE 8192

struct rule {
    char id[32], action[16], kind[16], arg[32], match[LINE];
    long nth;
    long owner;
    long objects;
};

static char dir[PATH_MAX], real_cc[PATH_MAX];
static struct rule rules[MAX_RULES];
static int nrules;
static double maxhold = 120.0;
static int log_fd = -1;
static long long ran_ns;   /* when the real compiler was started; 0: not (yet) */

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void path_in_dir(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", dir, name);
}

static int split_tabs(char *line, char **fields, int max)
{
    int n = 0;
    char *p = line;
    while (n < max) {
        fields[n++] = p;
        p = strchr(p, '\t');
        if (!p) break;
        *p++ = '\0';
    }
    return n;
}

static void read_config(void)
{
    char path[PATH_MAX], line[LINE];
    path_in_dir(path, sizeof path, "shim.conf");
    FILE *f = fopen(path, "r");
    if (!f) return;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *fields[9];
        int n = split_tabs(line, fields, 9);
        if (n >= 2 && strcmp(fields[0], "real") == 0) {
            snprintf(real_cc, sizeof real_cc, "%s", fields[1]);
        } else if (n >= 2 && strcmp(fields[0], "maxhold") == 0) {
            maxhold = atof(fields[1]);
        } else if (n >= 7 && strcmp(fields[0], "rule") == 0 && nrules < MAX_RULES) {
            struct rule *r = &rules[nrules++];
            snprintf(r->id, sizeof r->id, "%s", fields[1]);
            snprintf(r->action, sizeof r->action, "%s", fields[2]);
            snprintf(r->kind, sizeof r->kind, "%s", fields[3]);
            r->nth = atol(fields[4]);
            snprintf(r->arg, sizeof r->arg, "%s", fields[5]);
            snprintf(r->match, sizeof r->match, "%s", fields[6]);
            r->owner = n >= 8 ? atol(fields[7]) : 0;
            r->objects = n >= 9 ? atol(fields[8]) : 0;
        }
    }
    fclose(f);
}

/* Percent-encode bytes that would break the tab-separated log line. */
static size_t put_escaped(char *out, size_t cap, const char *s)
{
    size_t n = 0;
    for (; *s && n + 4 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c <= ' ' || c == '%' || c >= 0x7f) n += snprintf(out + n, cap - n, "%%%02X", c);
        else out[n++] = (char)c;
    }
    out[n] = '\0';
    return n;
}

static void log_record(const char *buf, size_t len)
{
    if (log_fd >= 0 && write(log_fd, buf, len) < 0) { /* the log is best effort */ }
}

static const char *kind_of(int argc, char **argv)
{
    int compile = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0) compile = 1;
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            size_t l = strlen(argv[i + 1]);
            if (l >= 4 && strcmp(argv[i + 1] + l - 4, ".gch") == 0) return "pch";
        }
    }
    return compile ? "compile" : "link";
}

static int file_exists(const char *name)
{
    char path[PATH_MAX];
    path_in_dir(path, sizeof path, name);
    return access(path, F_OK) == 0;
}

/* Claims this invocation's ordinal among the matches of rule r; true if it is the nth. */
static int is_nth(const struct rule *r)
{
    char path[PATH_MAX];
    for (long k = 1; k <= r->nth; k++) {
        snprintf(path, sizeof path, "%s/count.%s.%ld", dir, r->id, k);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd >= 0) { close(fd); return k == r->nth; }
        if (errno != EEXIST) return 0;
    }
    return 0;
}

static long count_objects(int argc, char **argv)
{
    long n = 0;
    for (int i = 1; i < argc; i++) {
        size_t l = strlen(argv[i]);
        if (l >= 2 && strcmp(argv[i] + l - 2, ".o") == 0) n++;
    }
    return n;
}

static const struct rule *choose_rule(int argc, char **argv, const char *kind)
{
    static char joined[1 << 16];
    size_t n = 0;
    joined[0] = '\0';
    for (int i = 1; i < argc && n + 2 < sizeof joined; i++)
        n += snprintf(joined + n, sizeof joined - n, "%s%s", i > 1 ? " " : "", argv[i]);
    for (int i = 0; i < nrules; i++) {
        const struct rule *r = &rules[i];
        if (strcmp(r->kind, "*") != 0 && strcmp(r->kind, kind) != 0) continue;
        if (r->match[0] && !strstr(joined, r->match)) continue;
        if (r->owner > 0 && r->owner != (long)getppid()) continue;
        if (r->objects > 0 && count_objects(argc, argv) < r->objects) continue;
        if (r->nth > 0 && !is_nth(r)) continue;
        return r;
    }
    return NULL;
}

/* Waits until the rule is released, the control dir vanishes or maxhold passes. */
static void wait_release(const struct rule *r)
{
    char name[64], path[PATH_MAX];
    snprintf(name, sizeof name, "reached.%s.%d", r->id, (int)getpid());
    path_in_dir(path, sizeof path, name);
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    if (fd >= 0) close(fd);
    snprintf(name, sizeof name, "release.%s", r->id);
    long long limit = now_ns() + (long long)(maxhold * 1e9);
    struct timespec ms = {0, 1000000};
    while (!file_exists(name) && access(dir, F_OK) == 0 && now_ns() < limit)
        nanosleep(&ms, NULL);
}

static void finish(const char *action, int status, int sig)
{
    char buf[256];
    int n = snprintf(buf, sizeof buf, "end\t%d\t%lld\t%d\t%d\t%s\t%lld\n",
                     (int)getpid(), now_ns(), status, sig, action, ran_ns);
    log_record(buf, (size_t)n);
    if (sig) {
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none);
        signal(sig, SIG_DFL);
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, sig);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        kill(getpid(), sig);
        _exit(128 + sig);
    }
    _exit(status);
}

static void run_real(int argc, char **argv, const char *action)
{
    (void)argc;
    ran_ns = now_ns();
    pid_t pid = fork();
    if (pid < 0) finish(action, 127, 0);
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        argv[0] = real_cc;
        execv(real_cc, argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (WIFSIGNALED(st)) finish(action, 0, WTERMSIG(st));
    finish(action, WEXITSTATUS(st), 0);
}

int main(int argc, char **argv)
{
    char exe[PATH_MAX], path[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) { fprintf(stderr, "mjit shim: cannot read /proc/self/exe\n"); return 127; }
    exe[len] = '\0';
    char *slash = strrchr(exe, '/');
    *slash = '\0';
    snprintf(dir, sizeof dir, "%s", exe);
    read_config();
    if (!real_cc[0]) { fprintf(stderr, "mjit shim: no real compiler in %s/shim.conf\n", dir); return 127; }
    path_in_dir(path, sizeof path, "shim.log");
    log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);

    const char *kind = kind_of(argc, argv);
    const struct rule *r = choose_rule(argc, argv, kind);
    const char *action = r ? r->action : "run";
    static char buf[1 << 17];
    size_t n = (size_t)snprintf(buf, sizeof buf, "start\t%d\t%d\t%lld\t%s\t%s\t%s",
                                (int)getpid(), (int)getppid(), now_ns(), kind, action,
                                r ? r->id : "-");
    for (int i = 0; i < argc && n + 8 < sizeof buf; i++) {
        buf[n++] = '\t';
        n += put_escaped(buf + n, sizeof buf - n - 2, argv[i]);
    }
    buf[n++] = '\n';
    log_record(buf, n);

    if (!r) run_real(argc, argv, action);
    if (strcmp(r->action, "fail") == 0) finish(action, 1, 0);
    if (strcmp(r->action, "crash") == 0) finish(action, 0, atoi(r->arg) > 0 ? atoi(r->arg) : SIGSEGV);
    if (strcmp(r->action, "hang") == 0) { wait_release(r); finish(action, 1, 0); }
    if (strcmp(r->action, "hold") == 0) wait_release(r);
    if (strcmp(r->action, "slow") == 0) {
        long ms = atol(r->arg);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {}
    }
    run_real(argc, argv, action);
    return 127;
}
