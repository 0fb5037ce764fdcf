//! AWS Glue JSON API requests that register the lake's tables (with
//! partition projection, so Athena sees new partitions at once) and their
//! partitions, and the reading of Glue's answers.

use serde_json::{json, Value};
use summary_lake::catalog::{file_table, BUCKET_COLUMN, PARTITION_COLUMNS};
use summary_lake::keys::Partition;
use summary_lake::{Bucket, ColumnType, Layout, Table};

use crate::request::{json_api_request, Endpoint, HttpRequest};

/// Glue accepts at most 100 partitions per BatchCreatePartition.
pub const PARTITION_BATCH: usize = 100;

const INPUT_FORMAT: &str = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat";
const OUTPUT_FORMAT: &str = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat";
const SERDE: &str = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe";

/// A POST of one Glue action.
pub fn request(endpoint: &Endpoint, action: &str, body: &Value) -> HttpRequest {
    json_api_request(
        endpoint,
        "application/x-amz-json-1.1",
        &format!("AWSGlue.{action}"),
        body,
    )
}

pub fn aws_endpoint(region: &str) -> Endpoint {
    Endpoint {
        scheme: "https".into(),
        host: format!("glue.{region}.amazonaws.com"),
        port: None,
    }
}

/// Athena type of a column.
pub fn glue_type(ty: ColumnType) -> &'static str {
    match ty {
        ColumnType::Text => "string",
        ColumnType::BigInt => "bigint",
        ColumnType::Int => "int",
        ColumnType::Double => "double",
        ColumnType::Boolean => "boolean",
    }
}

fn columns(table: &Table) -> Value {
    Value::Array(
        table
            .columns
            .iter()
            .map(|c| json!({"Name": c.name, "Type": glue_type(c.ty)}))
            .collect(),
    )
}

fn storage(table: &Table, location: &str) -> Value {
    json!({
        "Columns": columns(table),
        "Location": location,
        "InputFormat": INPUT_FORMAT,
        "OutputFormat": OUTPUT_FORMAT,
        "SerdeInfo": {"SerializationLibrary": SERDE, "Parameters": {"serialization.format": "1"}},
        "Compressed": true,
    })
}

/// `s3://bucket/prefix/<kind>/<table>/`.
pub fn table_location(lake_url: &str, table: &Table) -> String {
    format!(
        "{}/{}/{}/",
        lake_url.trim_end_matches('/'),
        table.kind,
        table.name
    )
}

pub fn create_database(database: &str) -> Value {
    json!({"DatabaseInput": {"Name": database, "Description": "Serratus summaries (summary-uploader)"}})
}

pub fn get_table(database: &str, table: &Table) -> Value {
    json!({"DatabaseName": database, "Name": table.glue_name})
}

/// DeleteTable takes the same body as GetTable; it drops the table's partitions too.
pub fn delete_table(database: &str, table: &Table) -> Value {
    get_table(database, table)
}

/// An external Parquet table of `table`'s files in `layout`. In
/// `score-pctid`, partitioned tables get integer partition projection over
/// 0..100 for `score` and `pctid`; in `run-bucket`, every table gets the
/// string partition key `bucket` projected over `00`..`99`, so nothing is
/// ever registered per partition.
pub fn create_table(
    database: &str,
    table: &'static Table,
    layout: Layout,
    lake_url: &str,
) -> Value {
    let location = table_location(lake_url, table);
    let mut parameters =
        json!({"classification": "parquet", "EXTERNAL": "TRUE", "parquet.compression": "SNAPPY"});
    let mut partition_keys = json!([]);
    if layout == Layout::RunBucket {
        let buckets: Vec<String> = (0..Bucket::COUNT)
            .filter_map(Bucket::new)
            .map(|b| b.to_string())
            .collect();
        let projection = parameters.as_object_mut().expect("object");
        projection.insert("projection.enabled".into(), "true".into());
        projection.insert(format!("projection.{BUCKET_COLUMN}.type"), "enum".into());
        projection.insert(
            format!("projection.{BUCKET_COLUMN}.values"),
            buckets.join(",").into(),
        );
        projection.insert(
            "storage.location.template".into(),
            format!("{location}{BUCKET_COLUMN}=${{{BUCKET_COLUMN}}}/").into(),
        );
        partition_keys = json!([{"Name": BUCKET_COLUMN, "Type": "string"}]);
    } else if table.partitioned {
        let projection = parameters.as_object_mut().expect("object");
        projection.insert("projection.enabled".into(), "true".into());
        for column in PARTITION_COLUMNS {
            projection.insert(format!("projection.{column}.type"), "integer".into());
            projection.insert(format!("projection.{column}.range"), "0,100".into());
        }
        projection.insert(
            "storage.location.template".into(),
            format!("{location}score=${{score}}/pctid=${{pctid}}/").into(),
        );
        partition_keys = Value::Array(
            PARTITION_COLUMNS
                .iter()
                .map(|c| json!({"Name": c, "Type": "int"}))
                .collect(),
        );
    }
    json!({
        "DatabaseName": database,
        "TableInput": {
            "Name": table.glue_name,
            "Description": format!("{}/{} (summary-uploader)", table.kind, table.name),
            "TableType": "EXTERNAL_TABLE",
            "Parameters": parameters,
            "PartitionKeys": partition_keys,
            "StorageDescriptor": storage(file_table(table, layout), &location),
        }
    })
}

/// BatchCreatePartition bodies, at most [`PARTITION_BATCH`] partitions each.
pub fn batch_create_partitions(
    database: &str,
    table: &Table,
    lake_url: &str,
    partitions: &[Partition],
) -> Vec<Value> {
    let location = table_location(lake_url, table);
    partitions
        .chunks(PARTITION_BATCH)
        .map(|chunk| {
            let inputs: Vec<Value> = chunk
                .iter()
                .map(|p| {
                    json!({
                        "Values": [p.score.to_string(), p.pctid.to_string()],
                        "StorageDescriptor": storage(table, &format!("{location}score={}/pctid={}/", p.score, p.pctid)),
                    })
                })
                .collect();
            json!({"DatabaseName": database, "TableName": table.glue_name, "PartitionInputList": inputs})
        })
        .collect()
}

/// The exception name of a Glue error answer (`AlreadyExistsException`),
/// whether Glue sent it bare or namespaced, and its message.
pub fn error_type(body: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return (None, None);
    };
    let kind = value
        .get("__type")
        .and_then(Value::as_str)
        .map(|t| t.rsplit(['#', ':']).next().unwrap_or(t).to_string());
    let message = value
        .get("message")
        .or_else(|| value.get("Message"))
        .and_then(Value::as_str)
        .map(str::to_string);
    (kind, message)
}

/// Per-partition errors of a BatchCreatePartition answer other than
/// `AlreadyExistsException`, as `values: code: message`.
pub fn batch_errors(body: &[u8]) -> Vec<String> {
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return vec!["unreadable answer".into()];
    };
    let Some(errors) = value.get("Errors").and_then(Value::as_array) else {
        return vec![];
    };
    errors
        .iter()
        .filter_map(|e| {
            let code = e
                .pointer("/ErrorDetail/ErrorCode")
                .and_then(Value::as_str)
                .unwrap_or("?");
            if code == "AlreadyExistsException" {
                return None;
            }
            let message = e
                .pointer("/ErrorDetail/ErrorMessage")
                .and_then(Value::as_str)
                .unwrap_or("");
            Some(format!(
                "{}: {code}: {message}",
                e.get("PartitionValues").unwrap_or(&Value::Null)
            ))
        })
        .collect()
}

/// How a stored table's columns differ from ours, if they do: a table
/// someone else defined is never silently replaced.
pub fn column_difference(table: &Table, get_table_answer: &[u8]) -> Result<Option<String>, String> {
    let value: Value = serde_json::from_slice(get_table_answer)
        .map_err(|e| format!("unreadable GetTable answer: {e}"))?;
    let stored: Vec<(String, String)> = value
        .pointer("/Table/StorageDescriptor/Columns")
        .and_then(Value::as_array)
        .ok_or("GetTable answer without Table.StorageDescriptor.Columns")?
        .iter()
        .map(|c| {
            let field = |name| {
                c.get(name)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_ascii_lowercase()
            };
            (field("Name"), field("Type"))
        })
        .collect();
    let ours: Vec<(String, String)> = table
        .columns
        .iter()
        .map(|c| (c.name.to_string(), glue_type(c.ty).to_string()))
        .collect();
    if stored == ours {
        return Ok(None);
    }
    let show = |cols: &[(String, String)]| {
        cols.iter()
            .map(|(n, t)| format!("{n} {t}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let first = stored
        .iter()
        .zip(&ours)
        .position(|(a, b)| a != b)
        .unwrap_or(stored.len().min(ours.len()));
    Ok(Some(format!(
        "Glue table {} has columns ({}) but the lake writes ({}); first difference at column {}",
        table.glue_name,
        show(&stored),
        show(&ours),
        first + 1
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use summary_lake::catalog::{NUCLEOTIDE_FAMILY, PROTEIN_SRA};

    #[test]
    fn tables_have_projection_and_exact_types() {
        let body = create_table(
            "summary",
            &NUCLEOTIDE_FAMILY,
            Layout::ScorePctid,
            "s3://lake/prefix/",
        );
        let input = &body["TableInput"];
        assert_eq!(input["Name"], "nfamily");
        assert_eq!(input["TableType"], "EXTERNAL_TABLE");
        assert_eq!(input["Parameters"]["projection.enabled"], "true");
        assert_eq!(input["Parameters"]["projection.score.range"], "0,100");
        assert_eq!(input["Parameters"]["projection.pctid.type"], "integer");
        assert_eq!(
            input["Parameters"]["storage.location.template"],
            "s3://lake/prefix/nucleotide/family/score=${score}/pctid=${pctid}/"
        );
        assert_eq!(
            input["PartitionKeys"],
            json!([{"Name":"score","Type":"int"},{"Name":"pctid","Type":"int"}])
        );
        assert_eq!(
            input["StorageDescriptor"]["Location"],
            "s3://lake/prefix/nucleotide/family/"
        );
        assert_eq!(
            input["StorageDescriptor"]["Columns"][3],
            json!({"Name":"depth","Type":"double"})
        );
        assert_eq!(
            input["StorageDescriptor"]["SerdeInfo"]["SerializationLibrary"],
            SERDE
        );
        let sra = create_table("summary", &PROTEIN_SRA, Layout::ScorePctid, "s3://lake");
        assert_eq!(sra["TableInput"]["PartitionKeys"], json!([]));
        assert!(sra["TableInput"]["Parameters"]
            .get("projection.enabled")
            .is_none());
        assert_eq!(
            sra["TableInput"]["StorageDescriptor"]["Columns"][5],
            json!({"Name":"truncated","Type":"boolean"})
        );
    }

    #[test]
    fn run_bucket_tables_project_their_bucket_and_hold_score_and_pctid() {
        let body = create_table(
            "summary",
            &NUCLEOTIDE_FAMILY,
            Layout::RunBucket,
            "s3://lake/p",
        );
        let input = &body["TableInput"];
        assert_eq!(
            input["PartitionKeys"],
            json!([{"Name":"bucket","Type":"string"}])
        );
        let parameters = &input["Parameters"];
        assert_eq!(parameters["projection.enabled"], "true");
        assert_eq!(parameters["projection.bucket.type"], "enum");
        let values = parameters["projection.bucket.values"].as_str().unwrap();
        assert_eq!(values.split(',').count(), 100);
        assert!(values.starts_with("00,01,02,") && values.ends_with(",98,99"));
        assert_eq!(
            parameters["storage.location.template"],
            "s3://lake/p/nucleotide/family/bucket=${bucket}/"
        );
        assert!(parameters.get("projection.score.type").is_none());
        let columns = input["StorageDescriptor"]["Columns"].as_array().unwrap();
        assert_eq!(
            columns[columns.len() - 2..],
            [
                json!({"Name":"score","Type":"int"}),
                json!({"Name":"pctid","Type":"int"})
            ]
        );
        let sra = create_table("summary", &PROTEIN_SRA, Layout::RunBucket, "s3://lake");
        assert_eq!(
            sra["TableInput"]["PartitionKeys"],
            json!([{"Name":"bucket","Type":"string"}])
        );
    }

    #[test]
    fn partitions_come_in_chunks_of_100() {
        let parts: Vec<Partition> = (0..=100)
            .flat_map(|s| {
                [
                    Partition {
                        score: s,
                        pctid: 50,
                    },
                    Partition {
                        score: s,
                        pctid: 51,
                    },
                ]
            })
            .collect();
        let bodies = batch_create_partitions("summary", &NUCLEOTIDE_FAMILY, "s3://lake", &parts);
        assert_eq!(
            bodies
                .iter()
                .map(|b| b["PartitionInputList"].as_array().unwrap().len())
                .collect::<Vec<_>>(),
            [100, 100, 2]
        );
        let first = &bodies[0]["PartitionInputList"][0];
        assert_eq!(first["Values"], json!(["0", "50"]));
        assert_eq!(
            first["StorageDescriptor"]["Location"],
            "s3://lake/nucleotide/family/score=0/pctid=50/"
        );
        let request = request(
            &Endpoint::parse("http://127.0.0.1:5000").unwrap(),
            "BatchCreatePartition",
            &bodies[2],
        );
        assert_eq!(
            request.header("x-amz-target"),
            Some("AWSGlue.BatchCreatePartition")
        );
        assert_eq!(request.url, "http://127.0.0.1:5000/");
    }

    #[test]
    fn answers() {
        assert_eq!(
            error_type(
                br#"{"__type":"com.amazonaws.glue#AlreadyExistsException","message":"exists"}"#
            ),
            (Some("AlreadyExistsException".into()), Some("exists".into()))
        );
        assert_eq!(
            error_type(br#"{"__type":"EntityNotFoundException","Message":"no"}"#)
                .0
                .as_deref(),
            Some("EntityNotFoundException")
        );
        let errors = br#"{"Errors":[{"PartitionValues":["1","2"],"ErrorDetail":{"ErrorCode":"AlreadyExistsException"}},
                                   {"PartitionValues":["3","4"],"ErrorDetail":{"ErrorCode":"InternalServiceException","ErrorMessage":"boom"}}]}"#;
        assert_eq!(
            batch_errors(errors),
            [r#"["3","4"]: InternalServiceException: boom"#]
        );
        assert!(batch_errors(b"{}").is_empty());
    }

    #[test]
    fn column_differences_are_named() {
        let ours = create_table("summary", &PROTEIN_SRA, Layout::ScorePctid, "s3://l");
        let stored = json!({"Table": {"StorageDescriptor": ours["TableInput"]["StorageDescriptor"].clone()}});
        assert_eq!(
            column_difference(&PROTEIN_SRA, stored.to_string().as_bytes()).unwrap(),
            None
        );
        let mut changed = stored.clone();
        changed["Table"]["StorageDescriptor"]["Columns"][2]["Type"] = "int".into();
        let diff = column_difference(&PROTEIN_SRA, changed.to_string().as_bytes())
            .unwrap()
            .unwrap();
        assert!(
            diff.starts_with(
                "Glue table psra has columns (sra string, type string, readlength int,"
            ),
            "{diff}"
        );
        assert!(diff.ends_with("first difference at column 3"), "{diff}");
    }
}
