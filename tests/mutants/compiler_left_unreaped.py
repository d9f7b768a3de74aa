"""The engine learns a compiler's exit status with waitid(WNOWAIT) and never reaps it, so
every compiler run stays a zombie child.

Breaks COMPILE-5."""

from . import mutate

create_engine = mutate(__name__, "_toolchain.py",
                       old=("        try:\n"
                            "            code = proc.wait()\n"
                            "        finally:\n"
                            "            # COMPILE-5: never leave a child behind, even if the wait was interrupted.\n"
                            "            if proc.returncode is None:\n"
                            "                proc.kill()\n"
                            "                proc.wait()\n"),
                       new=("        os = __import__(\"os\")\n"
                            "        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)\n"
                            "        code = info.si_status if info.si_code == os.CLD_EXITED else -1\n"
                            "        proc.returncode = code  # Popen then never reaps it either\n"))
