# syntax=docker/dockerfile:1.7
# Build stage: a wheel of the service and wheels of everything it needs, at the versions
# pinned in constraints.txt (so two builds of one commit install the same packages).
FROM python:3.11-slim AS build
WORKDIR /src
RUN pip install --no-cache-dir --upgrade pip build
COPY pyproject.toml README.md constraints.txt ./
COPY app ./app
RUN pip wheel --no-cache-dir --wheel-dir /wheels -c constraints.txt .

# Runtime stage: no compilers, a non-root user, migrations beside the code.
FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    SALESFLOW_ENVIRONMENT=production \
    SALESFLOW_LOG_JSON=true \
    SALESFLOW_WORKERS=2
RUN groupadd --system salesflow && useradd --system --gid salesflow --home /srv salesflow
WORKDIR /srv
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/*.whl && rm -rf /wheels
COPY alembic.ini ./
COPY alembic ./alembic
USER salesflow
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s --start-period=20s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=2).status == 200 else 1)"
# Production refuses to start without SALESFLOW_DATABASE_URL (postgresql+asyncpg://...)
# and SALESFLOW_JWT_SECRET, given at run time. Migrations are a step of their own, run once
# per release before the API containers start: `docker run --rm ... salesflow migrate`
# (until then /health/ready answers 503 migrations_pending). The same image runs the
# background jobs: `docker run ... salesflow worker` (one or more beside the API containers).
# On SIGTERM the API finishes open requests within SALESFLOW_SHUTDOWN_TIMEOUT_SECONDS (20):
# give the container longer than that to stop (`docker run --stop-timeout 30`).
CMD ["salesflow", "serve", "--no-migrate", "--host", "0.0.0.0", "--port", "8000"]
