package io.watershed.lake;

import org.apache.iceberg.DataFile;
import org.apache.iceberg.FileFormat;
import org.apache.iceberg.Schema;
import org.apache.iceberg.Table;
import org.apache.iceberg.data.GenericFileWriterFactory;
import org.apache.iceberg.data.Record;
import org.apache.iceberg.data.parquet.GenericParquetReaders;
import org.apache.iceberg.io.CloseableIterable;
import org.apache.iceberg.io.FanoutDataWriter;
import org.apache.iceberg.io.OutputFileFactory;
import org.apache.iceberg.parquet.Parquet;

/** Reading and writing a table's Parquet data files as generic records: the lake writer's and upkeep's one way. */
final class LakeFiles {
    private LakeFiles() {}

    /**
     * A writer of new data files of {@code target} in its current schema and spec, rolling to a new file at
     * {@code targetFileSize}; {@code writerId} keeps the names of concurrent writers apart.
     */
    static FanoutDataWriter<Record> writer(Table target, long targetFileSize, int writerId, long taskId) {
        GenericFileWriterFactory factory = new GenericFileWriterFactory.Builder(target)
                .dataFileFormat(FileFormat.PARQUET)
                .dataSchema(target.schema())
                .build();
        OutputFileFactory files = OutputFileFactory.builderFor(target, writerId, taskId).format(FileFormat.PARQUET).build();
        return new FanoutDataWriter<>(factory, files, target.io(), targetFileSize);
    }

    /** The rows of one data file, read by field id into {@code schema} (columns the file lacks are null). */
    static CloseableIterable<Record> read(Table table, DataFile file, Schema schema) {
        return Parquet.read(table.io().newInputFile(file.location())).project(schema)
                .createReaderFunc(fileSchema -> GenericParquetReaders.buildReader(schema, fileSchema))
                .build();
    }
}
