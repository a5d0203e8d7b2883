package io.watershed.lake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.iceberg.inmemory.InMemoryFileIO;
import org.apache.iceberg.io.FileIO;
import org.apache.iceberg.io.InputFile;
import org.apache.iceberg.io.OutputFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The read-through cache of a remote warehouse's data files, over Iceberg's in-memory FileIO standing in for S3. */
class DataFileCacheTest {
    @TempDir
    Path dir;

    private final CountingFileIO remote = new CountingFileIO();

    private String put(String name, int length) {
        String location = "s3://bucket/lake/raw/x/data/" + name;
        byte[] bytes = new byte[length];
        java.util.Arrays.fill(bytes, (byte) name.charAt(0));
        remote.addFile(location, bytes);
        return location;
    }

    @Test
    void aFileIsDownloadedOnceAndThenServedFromTheDisk() throws Exception {
        DataFileCache cache = new DataFileCache(dir, 1000);
        String a = put("a.parquet", 100);

        Path copy = cache.get(remote, a, 100);

        assertThat(copy).hasParent(dir).hasSize(100);
        assertThat(copy.getFileName().toString()).endsWith(".parquet");
        assertThat(cache.get(remote, a, 100)).isEqualTo(copy);
        assertThat(remote.reads(a)).isEqualTo(1);
        assertThat(cache.used()).isEqualTo(100);
    }

    @Test
    void theLeastRecentlyUsedCopiesGoFirstWhenTheCacheIsFull() {
        DataFileCache cache = new DataFileCache(dir, 300);
        String a = put("a.parquet", 100);
        String b = put("b.parquet", 100);
        String c = put("c.parquet", 100);
        String d = put("d.parquet", 100);
        Path copyA = cache.get(remote, a, 100);
        Path copyB = cache.get(remote, b, 100);
        cache.get(remote, c, 100);
        cache.get(remote, a, 100); // a is now more recent than b

        cache.get(remote, d, 100);

        assertThat(copyB).as("the least recently used").doesNotExist();
        assertThat(copyA).exists();
        assertThat(cache.used()).isEqualTo(300);
        cache.get(remote, b, 100);
        assertThat(remote.reads(b)).as("fetched again after eviction").isEqualTo(2);
        assertThat(remote.reads(a)).isEqualTo(1);
    }

    @Test
    void retainedCopiesAreNotEvictedEvenPastTheSize() {
        DataFileCache cache = new DataFileCache(dir, 150);
        String a = put("a.parquet", 100);
        String b = put("b.parquet", 100);
        Path copyA = cache.get(remote, a, 100);
        Object view = new Object();
        cache.retain(view, Set.of(copyA));

        Path copyB = cache.get(remote, b, 100);

        assertThat(copyA).as("a view still names it").exists();
        assertThat(copyB).exists();
        assertThat(cache.used()).isEqualTo(200);
        cache.release(view);
        String c = put("c.parquet", 10);
        cache.get(remote, c, 10);
        assertThat(copyA).as("released, least recently used").doesNotExist();
        assertThat(cache.used()).isEqualTo(110);
    }

    @Test
    void aCopyOfTheWrongLengthIsFetchedAgain() throws Exception {
        DataFileCache cache = new DataFileCache(dir, 1000);
        String a = put("a.parquet", 100);
        Path copy = cache.get(remote, a, 100);
        Files.write(copy, new byte[40]); // damaged on the disk

        assertThat(cache.get(remote, a, 100)).hasSize(100);
        assertThat(remote.reads(a)).isEqualTo(2);
        assertThatThrownBy(() -> cache.get(remote, a, 99)).as("the metadata's length is not the object's")
                .isInstanceOf(UncheckedIOException.class).hasMessageContaining("read 100 bytes, the lake's metadata says 99");
        try (var files = Files.list(dir)) {
            assertThat(files).as("no partial download is left").allSatisfy(f -> assertThat(f.toString()).doesNotContain(".part"));
        }
    }

    @Test
    void concurrentCallersDownloadAFileOnce() throws Exception {
        DataFileCache cache = new DataFileCache(dir, 1 << 20);
        String a = put("a.parquet", 50_000);
        remote.gate = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Path>> copies = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                copies.add(pool.submit(() -> cache.get(remote, a, 50_000)));
            }
            io.watershed.testing.Await.until("the first download", java.time.Duration.ofSeconds(10), () -> remote.reads(a) >= 1);
            remote.gate.countDown();
            for (Future<Path> copy : copies) {
                assertThat(copy.get()).hasSize(50_000);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(remote.reads(a)).isEqualTo(1);
    }

    @Test
    void copiesSurviveARestartAndPartialDownloadsDoNot() throws Exception {
        String a = put("a.parquet", 100);
        Path copy = new DataFileCache(dir, 1000).get(remote, a, 100);
        Path partial = Files.writeString(dir.resolve(copy.getFileName() + ".part-7"), "half", StandardCharsets.UTF_8);

        DataFileCache again = new DataFileCache(dir, 1000);

        assertThat(partial).doesNotExist();
        assertThat(again.used()).isEqualTo(100);
        assertThat(again.get(remote, a, 100)).isEqualTo(copy);
        assertThat(remote.reads(a)).isEqualTo(1);
    }

    /** Iceberg's in-memory FileIO that counts opened files and can hold readers at a gate. */
    static final class CountingFileIO implements FileIO {
        private final InMemoryFileIO files = new InMemoryFileIO();
        private final Map<String, AtomicInteger> reads = new ConcurrentHashMap<>();
        volatile CountDownLatch gate;

        void addFile(String location, byte[] bytes) {
            files.addFile(location, bytes);
        }

        int reads(String location) {
            return reads.getOrDefault(location, new AtomicInteger()).get();
        }

        @Override
        public InputFile newInputFile(String path) {
            reads.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet();
            CountDownLatch waitFor = gate;
            if (waitFor != null) {
                try {
                    waitFor.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return files.newInputFile(path);
        }

        @Override
        public OutputFile newOutputFile(String path) {
            return files.newOutputFile(path);
        }

        @Override
        public void deleteFile(String path) {
            files.deleteFile(path);
        }
    }
}
