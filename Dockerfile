# orchestration: the same `orchestration serve` as on a laptop, as a non-root user.
#   docker build -t orchestration .
#   docker run -p 8080:8080 orchestration                       # embedded SQLite in /data
FROM python:3.11-slim

RUN useradd --create-home --uid 10001 orchestration \
    && mkdir /data && chown orchestration /data
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir . && rm -rf /src

USER orchestration
WORKDIR /home/orchestration
ENV DATA_DIR=/data \
    LISTEN=0.0.0.0:8080
EXPOSE 8080
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=3s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/_healthcheck', timeout=2)"]
ENTRYPOINT ["orchestration"]
CMD ["serve"]
