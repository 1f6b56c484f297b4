# claude-memory server: slim Python, CPU-only torch, the embedding model baked in, non-root.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HF_HOME=/models TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1 HF_HUB_OFFLINE=1 \
    EMBEDDING_MODEL=sentence-transformers/all-mpnet-base-v2 \
    MEMORY_HOST=0.0.0.0 MEMORY_PORT=3333 MEMORY_DATA_DIR=/data

RUN apt-get update && apt-get install -y --no-install-recommends curl && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 10001 memory

WORKDIR /app
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch>=2.2"
COPY pyproject.toml README.md ./
COPY src ./src
COPY migrations ./migrations
COPY *.py ./
RUN pip install -e .

# Download the model at build time into the model cache (a named volume in compose).
RUN mkdir -p /models /data && HF_HUB_OFFLINE=0 TRANSFORMERS_OFFLINE=0 python -c \
    "from sentence_transformers import SentenceTransformer; SentenceTransformer('sentence-transformers/all-mpnet-base-v2')" \
    && chown -R memory:memory /models /data

USER memory
EXPOSE 3333
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=5 \
    CMD curl -fsS http://127.0.0.1:3333/health || exit 1
CMD ["claude-memory", "serve"]
