"""The clause registry: every behavioural clause of the MJIT protocol (PROTOCOL.md section 4).

Ids are stable; the statements are this project's wording.  A clause with a capability is
reported UNSUPPORTED (never PASS) for an engine that does not claim that capability.
"""

from __future__ import annotations

import dataclasses
import fnmatch

__all__ = ["Clause", "CLAUSES", "AREAS", "STRENGTHS", "SINCE", "get", "matches", "select"]

SINCE = "0.1.0"
STRENGTHS = {"M": "MUST", "S": "SHOULD", "O": "OBSERVABLE"}


@dataclasses.dataclass(frozen=True)
class Clause:
    """One checkable statement about an engine's behaviour."""

    id: str
    area: str
    strength: str            #: "M", "S" or "O"
    statement: str
    capability: str | None = None
    since: str = SINCE
    note: str = ""           #: where the model differs from CRuby 2.7's C, or a known caveat

    @property
    def must(self) -> bool:
        return self.strength == "M"


# Area headings: "AREA [capability] title"; clause lines: "ID S statement"; "  note: ..." lines
# attach a note to the clause above.
_TABLE = """
QUEUE - Queue
QUEUE-1 M Queueing an ISeq sets its jit_func to NOT_READY before add_iseq_to_process returns.
QUEUE-2 M The worker always takes the queued unit whose ISeq has the most calls when it dequeues, the first queued among equals.
QUEUE-3 M A unit whose ISeq is freed while still queued never reaches generate_code and leaves no files.
  note: CRuby's GC marks queued ISeqs (mjit_mark), so there an ISeq is freed while queued only through a direct free_iseq, never by its own GC; the test calls free_iseq directly.
QUEUE-4 M Unit ids are unique and grow; a unit's function symbol is _mjit<id>.
QUEUE-5 M A finished or disabled engine compiles nothing and ignores add_iseq_to_process.
QUEUE-6 M With max_cache_size active units the worker dequeues nothing unless unloading freed a slot or a stop request woke it.
  note: in the C a stop request ends the worker's wait and get_from_list still runs, so pausing with a full cache may compile one more unit.
QUEUE-7 S Calls made while a unit waits in the queue change its priority before compilation starts.
PCH [pch] Precompiled header
PCH-1 M The precompiled header is built before the first unit is compiled.
PCH-2 M Units use the header: gcc through an #include of its name without .gch, clang through -include-pch; the file exists at every unit compile.
PCH-3 M A failed header build disables the engine: nothing is compiled, methods stay interpreted and wait returns promptly.
PCH-4 M finish during the header build waits for that build to end; no compiler survives finish.
PCH-5 M Without save_temps the header is deleted by finish in the process that built it, never by a forked child.
PCH-6 O The header is named <tmp>/_ruby_mjit_hp<pid>u0.h.gch for both compiler families.
PCH-7 M A tmp dir whose path holds a double quote or a backslash still works.
  note: CRuby 2.7 escapes " and \\ inside #include "...", but gcc and clang read include names literally, so the C's escaping breaks such paths; an engine must write the name so the compiler finds it (e.g. unescaped, or #include <...>).
COMPILE - Compilation
COMPILE-1 M Compiled code returns the interpreter's result for the same arguments.
COMPILE-2 M A unit's .c, .o and .so are <tmp>/_ruby_mjit_p<pid>u<id> with that suffix.
COMPILE-3 M The .c is created exclusively with mode 0600; an existing file or symlink at its name fails the unit instead of being used.
COMPILE-4 M A compile or link that exits non-zero or dies by a signal gives NOT_COMPILED and leaves no .c or .so (without save_temps).
  note: the C never frees a unit whose link failed (the worker frees only units of freed ISeqs), so its .o stays in the tmp dir for good, after finish and exit; the test's leak check sees it.
COMPILE-5 M Every compiler process is reaped and none outlives finish.
COMPILE-6 S Compiler output is discarded unless verbose.
COMPILE-7 O Compiler flags follow CRuby's choice for gcc (PIC, shared, no warnings, pipe, no default libs, libgcc on link) and debug flags replace optimisation flags.
COMPILE-8 M Without save_temps the .c and .so are deleted once loaded; with save_temps they remain.
LOAD - Loading
LOAD-1 M jit_func becomes a function only after the .so is loaded and _mjit<id> resolved; a failed dlopen or dlsym gives NOT_COMPILED.
  note: the C gives NOT_ADDED (not NOT_COMPILED) for a failed dlopen and for a missing _mjit<id> (dlsym's NULL, logged at no verbose level, the library left open), which the host treats the same for calls and never re-queues; the unit is never freed, so its .o stays for good.
LOAD-2 M A result is published under the engine lock and only for a live ISeq; a freed ISeq's unit is dropped.
LOAD-3 M A method that failed to compile is never queued again by calling it (until recompile).
GC - Garbage collection
GC-1 M generate_code is never entered between gc_start_hook and gc_exit_hook.
  note: the C takes in_jit back after a copy job without waiting for GC to end, so the rest of a generation may overlap a GC that started during the job; the reference waits there, and the clause checks entry only.
GC-2 M gc_start_hook waits for a running generate_code (outside a copy-job wait) and returns once it ends.
GC-3 M A worker about to generate code when GC starts waits for gc_exit_hook and then carries on.
GC-4 M No result is published while GC runs.
GC-5 M An ISeq freed by a GC its unit was waiting on is not compiled and no files of it but the .c (created before the GC wait, removed after) appear.
  note: section 2.3 of the protocol creates the .c before waiting for GC; the GC tests use its appearance as the sign that the worker took the unit.
GC-6 M in_jit is released on every way out of generate_code, failure included, so a later GC never blocks.
GC-7 M mark keeps the copy job's ISeq and every queued ISeq alive.
COPYJOB [copy_job] Copy job
COPYJOB-1 M Call caches are read on the main thread only, by the postponed job.
COPYJOB-2 M GC can start and end while the worker waits for the copy job.
COPYJOB-3 M Compiled code reflects the cache values as of when the job ran on the main thread.
COPYJOB-4 M Freeing the ISeq while its copy job waits fails the copy; the freed ISeq is never read.
  note: the C's handler does not wake the worker when the ISeq was freed; it sleeps until the next wakeup, so the test queues another method.
COPYJOB-5 M Stopping, pausing or finishing while the worker waits for a copy job completes.
COPYJOB-6 M A copy job that runs after the engine gave up does nothing.
COPYJOB-7 M In wait mode the copy runs inline on the worker without a postponed job.
COPYJOB-8 M A refused postponed-job registration fails the copy at once.
STOP - Stop, pause and resume
STOP-1 M pause(wait=False) returns only once the worker thread has ended, leaving no files of an interrupted unit but a kept .o.
  note: the C's worker sets worker_stopped as its last store, so pause returns while the thread is still leaving its start routine; the tests check compilers and files at the moment pause (or finish) returns and give the thread a few seconds to end on its own, with nothing more done by the main thread.
STOP-2 M pause(wait=True) lets the worker empty the queue (unless the cache is full) before stopping it, and returns once the worker has stopped even if units are still queued.
  note: CRuby 2.7's mjit_pause drains in a loop that looks only at the queue and the cache, never at worker_stopped: a header build that fails while it loops stops the worker (PCH-3) and the loop never ends. The suite bounds that wait, so an engine that follows the C here gets a FAIL of this clause, not a hang.
STOP-3 M pause of a stopped worker and resume of a running one return False; both raise on a disabled engine.
STOP-4 M After resume the queued units get compiled.
STOP-5 M The stop loop runs the host's interrupt check so a pending copy job cannot block it.
STOP-6 M Compiled code can still be called while the engine is paused.
FINISH - Finish
FINISH-1 M After finish no engine thread and no compiler process remain.
FINISH-2 M After finish without save_temps, none of the engine's files remain in its tmp dir.
  note: the .o files of units the C never freed (a failed link, load or dlsym: see COMPILE-4) stay after finish.
FINISH-3 M finish(close_handle=True) unmaps every loaded .so; close_handle=False leaves them mapped.
FINISH-4 M finish can be repeated, and later client calls do nothing (pause/resume raise as documented).
FINISH-5 S call_p is False after finish.
FORK [fork] Fork
FORK-1 M After the host's fork sequence parent and child each have exactly one working worker.
FORK-2 M A child never deletes the parent's .o files of units compiled before the fork.
  note: this covers units the parent replaced by a recompile before the fork (stale units) and every path of the child: recompile, unload, compaction, GC, finish. CRuby 2.7's mjit_child_after_fork marks the active units' files only, so its child's finish deletes the .o of a parent's stale unit.
FORK-3 M A child never deletes the parent's precompiled header.
FORK-4 M Units compiled in the child carry the child's pid and the child cleans them up.
FORK-5 M A fork during a compile completes, and the parent's unit still compiles after resume.
FORK-6 M Code compiled before the fork can be called in the child.
COMPACT [compaction] Compaction
COMPACT-1 M When the queue empties with several active units (not in wait mode), their code is linked into one .so and every live ISeq points into it.
  note: CRuby 2.7 holds the engine lock across the compaction link (a known TODO in the C); the clause does not require it. Its rebinding does not wait for in_gc, so GC-4 covers unit results only.
COMPACT-2 M Compacted functions return the interpreter's results.
COMPACT-3 M A failed compaction link keeps every jit_func as it was and callable.
COMPACT-4 M Compaction skips ISeqs freed meanwhile and does not bring them back.
COMPACT-5 M The .o files a later compaction needs stay until finish or unload, and finish deletes them.
  note: the .o of a unit whose ISeq was freed also goes when that unit is freed.
COMPACT-6 S Compaction at max_cache_size happens in wait mode too.
UNLOAD [unload] Unloading
UNLOAD-1 M Enqueueing into a full cache unloads down to max_cache_size minus a tenth of the active units (counted after dropping freed ones), least-called first.
  note: the C computes delete_num = active_units.length / 10, not max_cache_size / 10.
UNLOAD-2 M Code of an ISeq with a frame on any stack is never unloaded.
UNLOAD-3 M An unloaded ISeq becomes NOT_COMPILED and calling it never queues it again.
UNLOAD-4 M Unloaded code is dlclosed (its own .so unmapped; a compacted copy stays until finish) and its .o deleted unless inherited.
UNLOAD-5 M Units of freed ISeqs go first.
UNLOAD-6 S In wait mode, when nothing can be unloaded, max_cache_size grows by one so the waiting call cannot hang.
RECOMPILE [recompile] Recompilation
RECOMPILE-1 M recompile of a compiled ISeq queues it again and it gets new code under a new id.
RECOMPILE-2 M The replaced code stays loaded until finish, so a frame still running it is safe.
RECOMPILE-3 M recompile of an ISeq that is not compiled does nothing.
RECOMPILE-4 M Freeing an ISeq also clears it from stale units.
WAIT - Wait mode
WAIT-1 M In wait mode the call that reaches min_calls already returns the compiled result.
WAIT-2 M wait gives up after wait_timeout with NOT_COMPILED and a warning (shown with warnings or verbose) when the compiler is stuck.
  note: as in the C, a compile that ends later may still publish its code over NOT_COMPILED. The C's wait gives up only after MJIT_WAIT_TIMEOUT_SECONDS (60 s, counted in 1 ms sleeps) and ignores wait_timeout.
WAIT-3 M wait returns promptly once the precompiled header failed.
  note: only observable for an engine that builds a precompiled header; for others the test is skipped and the clause is UNRESOLVED.
OPT - Options
OPT-1 M max_cache_size <= 0 means 100, below 10 means 10; min_calls 0 means 10000; the engine honours the normalised values.
  note: pytest_mjit.Options normalises, so an engine only ever sees normalised values; the test checks that it keeps to them.
OPT-2 M The tmp dir is TMPDIR, else TMP, else the system default, skipping one that is not a writable directory or is world-writable without the sticky bit.
OPT-3 M debug uses debug flags in place of optimisation flags, and debug_flags reach the header build and every unit compile.
  note: in the C the added debug flags are not passed to the link.
OPT-4 S verbose >= 1 reports each unit's success, each failed code generation and each compaction; 0 is silent; warnings shows warnings only.
  note: in the C a compile or link failure is reported at verbose 2, not 1.
OPT-5 M save_temps keeps the .c, .o, .so files and the precompiled header.
SERIAL [class_serials] Class serials
SERIAL-1 M An added class serial is valid and a removed one is not, and asking is safe from the worker.
FAULT - Faults
FAULT-1 M finish or pause during a compile waits for the compiler to exit without holding the engine lock, so GC hooks and free_iseq still return.
  note: GC hooks are main-thread calls; while pause or finish blocks the main thread they run from the stop loop's interrupt check, which is how the test drives them.
FAULT-2 M A compiler killed by a signal is a failed compile, not an engine crash.
  note: a link killed by a signal leaves the unit's .o for good in the C (see COMPILE-4).
FAULT-3 M An unwritable tmp dir disables the engine or fails units cleanly; no exception reaches the host.
  note: CRuby has no tmp dir option: an engine's options.tmp_dir reaches it as TMPDIR, and system_tmpdir() skips an unusable TMPDIR for TMP, then /tmp, where units compile.
FAULT-4 M A missing compiler only makes the header build fail (see PCH-3); the engine survives.
"""


def _parse(table: str) -> tuple[dict[str, Clause], dict[str, str]]:
    clauses: dict[str, Clause] = {}
    areas: dict[str, str] = {}
    area = ""
    capability: str | None = None
    last: str | None = None
    for raw in table.strip().splitlines():
        line = raw.strip()
        if raw.startswith("  note:"):
            if last is None:
                raise ValueError(f"note before any clause: {raw!r}")
            clauses[last] = dataclasses.replace(clauses[last], note=line[len("note:"):].strip())
            continue
        head, rest = line.split(" ", 1)
        if "-" not in head:
            area = head
            tag, title = rest.split(" ", 1)
            capability = tag.strip("[]") if tag.startswith("[") else None
            areas[area] = title
            continue
        strength, statement = rest.split(" ", 1)
        if strength not in STRENGTHS or not head.startswith(area + "-"):
            raise ValueError(f"bad clause line: {raw!r}")
        clauses[head] = Clause(head, area, strength, statement, capability)
        last = head
    return clauses, areas


CLAUSES, AREAS = _parse(_TABLE)


def get(clause_id: str) -> Clause | None:
    """The clause with this id, or None."""
    return CLAUSES.get(clause_id)


def select(pattern: str) -> list[Clause]:
    """Clauses whose id matches the glob ``pattern`` (comma-separated globs allowed)."""
    globs = [p.strip() for p in pattern.split(",") if p.strip()]
    return [c for c in CLAUSES.values() if any(fnmatch.fnmatchcase(c.id, g) for g in globs)]


def matches(clause_id: str, pattern: str) -> bool:
    """True if ``clause_id`` matches one of the comma-separated globs in ``pattern``."""
    return any(fnmatch.fnmatchcase(clause_id, g.strip()) for g in pattern.split(",") if g.strip())
