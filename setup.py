"""Package discovery for the wheel and for editable installs (all metadata is in pyproject.toml).

Why a setup.py: `[tool.setuptools.packages.find]` discovers packages by walking folders,
so it cannot ship the root-level ``lessons/`` folder as ``dlsteps._lessons`` (the
package-dir mapping applies to listed names, not to discovered ones), and listing the
packages by hand in pyproject.toml silently drops any new one (``dlsteps/blocks/`` once
was). So every package under ``dlsteps/`` is discovered here, and ``lessons/`` (with any
subpackage it grows) is mapped into the ``dlsteps`` namespace as the private
``dlsteps._lessons`` (``dlsteps.lessons`` is the API function that lists them). A top-level ``lessons``
package is never installed (the design notes' "Packaging note"); tests/test_packaging.py
checks both against the built wheel.
"""

from setuptools import find_packages, setup

setup(
    packages=(
        find_packages(include=["dlsteps", "dlsteps.*"])
        + ["dlsteps._lessons"]
        + ["dlsteps._lessons." + name for name in find_packages("lessons")]
    ),
    package_dir={"dlsteps": "dlsteps", "dlsteps._lessons": "lessons"},
)
