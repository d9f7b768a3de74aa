"""File names carry the pid of the process that loaded the engine, so a forked child names
its units with the parent's pid.

Breaks FORK-4 (and COMPILE-2 in a child)."""

from . import mutate

create_engine = mutate(__name__, '_files.py',
                       old=('def uniq_filename(tmp_dir: str, unit_id: int, prefix: str, suffix: str) -> str:\n'
                            '    """``<tmp>/<prefix>p<pid>u<id><suffix>``, with the pid of the calling process."""\n'
                            '    return f"{tmp_dir}/{prefix}p{os.getpid()}u{unit_id}{suffix}"\n'),
                       new=('def uniq_filename(tmp_dir: str, unit_id: int, prefix: str, suffix: str,\n'
                            '                  _pid: int = os.getpid()) -> str:\n'
                            '    """``<tmp>/<prefix>p<pid>u<id><suffix>``, with the pid of the process that loaded this."""\n'
                            '    return f"{tmp_dir}/{prefix}p{_pid}u{unit_id}{suffix}"\n'))
