"""Temporary files are named without the process id (_ruby_mjit_p0u<id>...), so the
precompiled header and the units' files of a forked child collide with the parent's.

Breaks PCH-6 and COMPILE-2."""

from . import mutate

create_engine = mutate(__name__, "_files.py",
                       old='    return f"{tmp_dir}/{prefix}p{os.getpid()}u{unit_id}{suffix}"\n',
                       new='    return f"{tmp_dir}/{prefix}p0u{unit_id}{suffix}"\n')
