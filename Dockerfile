# destination-stripe: the Airbyte destination image.
#
#   docker build --network host -t airbyte/destination-stripe:dev .
#   docker run --rm airbyte/destination-stripe:dev spec
#
# Works with the legacy builder (no BuildKit-only features). Stages:
#   builder  -> a venv at /opt/connector: the dependencies exactly as poetry.lock pins them, then the project's wheel
#               (Poetry and build tools stay in this stage)
#   runtime  -> the base image plus that venv only, non-root user, writable /airbyte: shared by every variant
#   valmi-builder -> valmi's container wrapper (valmi-connector-lib) in its own venv at /opt/valmi (pydantic 1)
#   valmi    -> runtime + /opt/valmi, entrypoint = valmi's wrapper around the connector (`--target valmi`)
#   airbyte  -> Airbyte's labels and entrypoint (the default target; keep it the LAST stage)
# Another variant goes between `runtime` and `airbyte` as `FROM runtime AS <name>` and is built with
# `--target <name>`. The legacy builder builds every stage before the target, so a default build also builds (and
# caches) the valmi stages; nothing of them reaches the Airbyte image.
#
#   docker build --network host --target valmi -t valmi/destination-stripe:dev .
#   docker run --rm valmi/destination-stripe:dev spec
#
# The base image is pinned by digest; metadata.yaml's connectorBuildOptions.baseImage repeats it (a unit test
# checks they agree). airbyte/python-connector-base 4.0.2 = Python 3.11 on Debian bookworm slim.
ARG BASE_IMAGE=docker.io/airbyte/python-connector-base:4.0.2@sha256:9fdb1888c4264cf6fee473649ecb593f56f58e5d0096a87ee0b231777e2e3e73

FROM ${BASE_IMAGE} AS builder
# The one Poetry version of pyproject.toml's [tool.destination-stripe] poetry-version (unit_tests/test_versions.py).
ARG POETRY_VERSION=2.5.1
USER root
WORKDIR /build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    POETRY_NO_INTERACTION=1 \
    POETRY_VIRTUALENVS_CREATE=false \
    POETRY_CACHE_DIR=/tmp/poetry-cache
# Poetry in a venv of its own (builder stage only), the connector's venv beside it.
RUN python -m venv /opt/poetry \
 && /opt/poetry/bin/pip install "poetry==${POETRY_VERSION}" \
 && python -m venv /opt/connector
# Dependencies first, in their own layer, keyed on pyproject.toml and poetry.lock alone: editing the code does not
# reinstall them. Exactly the lock's versions (Poetry checks each file's hash), the main group only (no test tools).
COPY pyproject.toml poetry.lock ./
RUN VIRTUAL_ENV=/opt/connector /opt/poetry/bin/poetry install --only main --no-root \
 && rm -rf /tmp/poetry-cache
# The connector itself: a wheel built by pyproject.toml's backend (poetry-core), installed without dependencies.
COPY README.md ./
COPY destination_stripe ./destination_stripe
RUN /opt/poetry/bin/poetry build --format wheel --output /build/wheels \
 && /opt/connector/bin/pip install --no-deps /build/wheels/airbyte_destination_stripe-*.whl \
 && /opt/connector/bin/pip check \
 && /opt/connector/bin/python -m pip uninstall --yes pip \
 && /opt/connector/bin/python -c "import destination_stripe.run"

FROM ${BASE_IMAGE} AS runtime
USER root
COPY --from=builder /opt/connector /opt/connector
RUN mkdir -p /airbyte/integration_code \
 && chown -R airbyte:airbyte /airbyte
ENV PATH="/opt/connector/bin:${PATH}"
WORKDIR /airbyte/integration_code
USER airbyte

# valmi.io's container wrapper, from PyPI, in a venv of its own: it needs pydantic 1 and valmi's fork of an old
# airbyte-cdk, which cannot share /opt/connector (airbyte-cdk 7, pydantic 2).
# valmi-airbyte-cdk 0.30.3 pins pydantic ~=1.9.2, which cannot even be imported on Python 3.11 (Python 3.11's
# inspect rejects the keyword `global`, the alias of AirbyteStateMessage.global_, as a parameter name; pydantic
# 1.10 handles it). The base is Python 3.11, so pydantic 1.10 (still pydantic 1) replaces 1.9.2 without its
# resolver (`pip check` would report that pin); the import at the end proves the wrapper loads. Wheels only (nothing
# is compiled), except genson 1.2.2 (pinned by valmi-airbyte-cdk), a pure-Python package published as an sdist only.
# pip and setuptools are removed afterwards, as in /opt/connector.
FROM ${BASE_IMAGE} AS valmi-builder
USER root
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/valmi \
 && /opt/valmi/bin/pip install --only-binary=:all: --no-binary=genson \
        valmi-connector-lib==0.1.192 valmi-airbyte-cdk==0.30.3 \
 && /opt/valmi/bin/pip install --only-binary=:all: --no-deps pydantic==1.10.27 \
 && /opt/valmi/bin/python -m pip uninstall --yes setuptools pip \
 && /opt/valmi/bin/python -c "import pydantic, valmi_connector_lib.destination_wrapper.destination_container_wrapper; assert pydantic.VERSION.startswith('1.'), pydantic.VERSION"

# The valmi image: the connector as in `runtime`, run through valmi's wrapper. The wrapper finds the connector's
# command (spec, check, discover, write) by skipping as many arguments as VALMI_ENTRYPOINT has words, and it reads
# sys.argv[3] before that, so VALMI_ENTRYPOINT needs at least two words (one word fails `spec` with an IndexError):
# hence the interpreter and the console script. The ENTRYPOINT is valmi's own `wrapper $VALMI_ENTRYPOINT "$@"`,
# through sh because an exec-form ENTRYPOINT cannot expand a variable. VALMI_ENTRYPOINT also makes `discover`
# answer in valmi's shape. VALMI_INTERMEDIATE_STORE is only read by `write` (valmi's platform passes its own, with
# ACTIVATION_ENGINE_URL and DAGSTER_RUN_JOB_NAME); the default is a writable folder for a standalone run.
# No AIRBYTE_ENTRYPOINT: this image answers discover the valmi way, so it is not an Airbyte image.
FROM runtime AS valmi
COPY --from=valmi-builder /opt/valmi /opt/valmi
LABEL io.valmi.name=valmi/destination-stripe \
      io.valmi.version=0.1.0
ENV PYTHONUNBUFFERED=1 \
    VALMI_ENTRYPOINT="/opt/connector/bin/python /opt/connector/bin/destination-stripe" \
    VALMI_INTERMEDIATE_STORE="{\"provider\": \"local\", \"local\": {\"directory\": \"/airbyte/valmi/intermediate_store\", \"max_lines_per_file_hint\": 1000, \"log_flush_interval\": 5}}"
ENTRYPOINT ["/bin/sh", "-c", "exec /opt/valmi/bin/python -m valmi_connector_lib.destination_wrapper.destination_container_wrapper $VALMI_ENTRYPOINT \"$@\"", "destination-stripe-valmi"]

FROM runtime AS airbyte
LABEL io.airbyte.name=airbyte/destination-stripe \
      io.airbyte.version=0.1.0
ENV AIRBYTE_ENTRYPOINT="/opt/connector/bin/destination-stripe"
ENTRYPOINT ["/opt/connector/bin/destination-stripe"]
