# Shared by serve.sh and test.sh: a virtualenv in .venv with the project's dependencies.

install_project() {
    local extra=${1:-}
    if [ ! -x .venv/bin/python ]; then
        python3 -m venv .venv
    fi
    local spec="."
    [ -n "$extra" ] && spec=".[$extra]"
    .venv/bin/python -m pip install --quiet --disable-pip-version-check "$spec"
}

# Debian packages some tests drive for real: chromium for the phone-sized browser test of the
# public page. Installed when missing and when we may (root, apt-get present); otherwise the
# tests that need them fail saying what is missing. TRACE_SYSTEM_PACKAGES overrides the list.
install_system_packages() {
    local wanted=() pkg
    for pkg in ${TRACE_SYSTEM_PACKAGES-chromium}; do
        dpkg -s "$pkg" >/dev/null 2>&1 || wanted+=("$pkg")
    done
    [ ${#wanted[@]} -eq 0 ] && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${wanted[@]}"
    else
        echo "warning: missing Debian packages: ${wanted[*]}" >&2
    fi
}
