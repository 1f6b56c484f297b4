# claude-memory server: slim Python, CPU-only torch, the embedding model baked in, non-root, offline at run time.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HOME=/models TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 HF_HUB_OFFLINE=1 \
    EMBEDDING_MODEL=sentence-transformers/all-mpnet-base-v2 \
    MEMORY_HOST=0.0.0.0 MEMORY_PORT=3333 MEMORY_DATA_DIR=/data

# curl for the healthcheck. Debian's security updates replace exact versions, so it is not pinned.
# hadolint ignore=DL3008
RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 memory

WORKDIR /app
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0"
COPY pyproject.toml README.md ./
COPY src ./src
COPY migrations ./migrations
COPY *.py ./
RUN pip install .

# Download the model at build time into the model cache (a named volume in compose); nothing is fetched at run time.
RUN mkdir -p /models /data && HF_HUB_OFFLINE=0 TRANSFORMERS_OFFLINE=0 python -c \
    "from sentence_transformers import SentenceTransformer; SentenceTransformer('sentence-transformers/all-mpnet-base-v2')" \
    && chown -R 10001:10001 /models /data

USER 10001:10001
EXPOSE 3333
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=5 \
    CMD ["curl", "-fsS", "http://127.0.0.1:3333/health"]
CMD ["claude-memory", "serve"]
