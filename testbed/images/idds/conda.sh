# /etc/profile.d/conda.sh of the test bed's idds image: the supervisord programs of the iDDS wheel run
# `source /etc/profile.d/conda.sh && conda activate /opt/idds` (the upstream image has a conda env
# there); here /opt/idds is a venv, and "conda activate" puts it first on PATH.
conda() {
  if [ "${1:-}" = activate ] && [ -n "${2:-}" ]; then
    export VIRTUAL_ENV=$2 PATH=$2/bin:$PATH
  else
    echo "conda (test bed image): only 'conda activate PREFIX' is known" >&2
    return 1
  fi
}
