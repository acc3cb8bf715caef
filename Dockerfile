# destination-stripe: the Airbyte destination image.
#
#   docker build --network host -t airbyte/destination-stripe:dev .
#   docker run --rm airbyte/destination-stripe:dev spec
#
# Works with the legacy builder (no BuildKit-only features). Stages:
#   builder  -> a venv at /opt/connector holding the project's wheel and its dependencies (build tools stay here)
#   runtime  -> the base image plus that venv only, non-root user, writable /airbyte: shared by every variant
#   airbyte  -> Airbyte's labels and entrypoint (the default target; keep it the LAST stage)
# Another variant (e.g. valmi) goes between `runtime` and `airbyte` as `FROM runtime AS <name>` and is built with
# `--target <name>`.
#
# The base image is pinned by digest; metadata.yaml's connectorBuildOptions.baseImage repeats it (a unit test
# checks they agree). airbyte/python-connector-base 4.0.2 = Python 3.11 on Debian bookworm slim.
ARG BASE_IMAGE=docker.io/airbyte/python-connector-base:4.0.2@sha256:9fdb1888c4264cf6fee473649ecb593f56f58e5d0096a87ee0b231777e2e3e73

FROM ${BASE_IMAGE} AS builder
USER root
WORKDIR /build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/connector
# Dependencies first, in their own layer, keyed on pyproject.toml alone: editing the code does not reinstall
# them. An empty package and README stand in for the real ones during this step.
COPY pyproject.toml ./
RUN mkdir destination_stripe \
 && touch destination_stripe/__init__.py README.md \
 && /opt/connector/bin/pip install . \
 && /opt/connector/bin/pip uninstall --yes destination-stripe \
 && rm -rf destination_stripe README.md build ./*.egg-info
COPY README.md ./
COPY destination_stripe ./destination_stripe
RUN /opt/connector/bin/pip wheel --no-deps --wheel-dir /build/wheels . \
 && /opt/connector/bin/pip install --no-deps /build/wheels/destination_stripe-*.whl \
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

FROM runtime AS airbyte
LABEL io.airbyte.name=airbyte/destination-stripe \
      io.airbyte.version=0.1.0
ENV AIRBYTE_ENTRYPOINT="/opt/connector/bin/destination-stripe"
ENTRYPOINT ["/opt/connector/bin/destination-stripe"]
