package io.watershed.ml;

/**
 * One input column of a model, as the training query returned it.
 *
 * @param type the SQL type of the column in the training query (BIGINT, DOUBLE, DECIMAL(10,2), BOOLEAN, ...)
 */
public record Feature(String name, String type) {}
