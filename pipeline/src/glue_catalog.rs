//! Registers the lake's tables and partitions in AWS Glue.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::error::{Error, Result};
use summary_aws::glue;
use summary_aws::request::SigningProfile;
use summary_lake::catalog::file_table;
use summary_lake::keys::Partition;
use summary_lake::{Layout, Table};

use crate::aws_client::{describe_failure, error_code, AwsClient, HttpResponse};

const MAX_ANSWER: u64 = 4 << 20;

pub struct GlueCatalog<'a> {
    client: &'a AwsClient,
    database: String,
    /// `s3://bucket/prefix` the tables point at.
    lake_url: String,
    /// Tables known to exist with our columns, so each is checked once per process.
    ready: Mutex<HashSet<&'static str>>,
    database_ready: Mutex<bool>,
}

impl<'a> GlueCatalog<'a> {
    pub fn new(client: &'a AwsClient, database: String, lake_url: String) -> Self {
        GlueCatalog {
            client,
            database,
            lake_url,
            ready: Mutex::new(HashSet::new()),
            database_ready: Mutex::new(false),
        }
    }

    fn call(&self, action: &str, body: &serde_json::Value) -> Result<HttpResponse> {
        let endpoint = &self.client.config.glue;
        Ok(self
            .client
            .call(SigningProfile::Json, "glue", MAX_ANSWER, || {
                glue::request(endpoint, action, body)
            })?)
    }

    fn ensure_database(&self) -> Result<()> {
        let mut ready = self
            .database_ready
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if *ready {
            return Ok(());
        }
        let response = self.call("CreateDatabase", &glue::create_database(&self.database))?;
        if !response.is_success()
            && error_code(&response).as_deref() != Some("AlreadyExistsException")
        {
            return Err(Error::Permanent(describe_failure(
                &format!("Glue CreateDatabase {}", self.database),
                &response,
            )));
        }
        *ready = true;
        Ok(())
    }

    /// Creates the table of `layout`'s files on first use; a table that
    /// exists must have exactly our columns.
    pub fn ensure_table(&self, table: &'static Table, layout: Layout) -> Result<()> {
        if self
            .ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(table.glue_name)
        {
            return Ok(());
        }
        self.ensure_database()?;
        let mut response = self.call("GetTable", &glue::get_table(&self.database, table))?;
        if error_code(&response).as_deref() == Some("EntityNotFoundException") {
            let created = self.call(
                "CreateTable",
                &glue::create_table(&self.database, table, layout, &self.lake_url),
            )?;
            match error_code(&created).as_deref() {
                _ if created.is_success() => {
                    tracing::info!(table = table.glue_name, database = %self.database, "Glue table created");
                    self.ready
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(table.glue_name);
                    return Ok(());
                }
                // Another worker created it meanwhile: check its columns.
                Some("AlreadyExistsException") => {
                    response = self.call("GetTable", &glue::get_table(&self.database, table))?;
                }
                _ => {
                    return Err(Error::Permanent(describe_failure(
                        &format!("Glue CreateTable {}", table.glue_name),
                        &created,
                    )))
                }
            }
        }
        if !response.is_success() {
            return Err(Error::Permanent(describe_failure(
                &format!("Glue GetTable {}", table.glue_name),
                &response,
            )));
        }
        if let Some(difference) = glue::column_difference(file_table(table, layout), &response.body)
            .map_err(Error::Permanent)?
        {
            return Err(Error::Permanent(difference));
        }
        self.ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(table.glue_name);
        Ok(())
    }

    /// Registers partitions (those that exist already are fine).
    pub fn add_partitions(
        &self,
        table: &'static Table,
        layout: Layout,
        partitions: &[Partition],
    ) -> Result<()> {
        self.ensure_table(table, layout)?;
        for body in glue::batch_create_partitions(&self.database, table, &self.lake_url, partitions)
        {
            let response = self.call("BatchCreatePartition", &body)?;
            if !response.is_success() {
                return Err(Error::Permanent(describe_failure(
                    &format!("Glue BatchCreatePartition {}", table.glue_name),
                    &response,
                )));
            }
            let errors = glue::batch_errors(&response.body);
            if !errors.is_empty() {
                return Err(Error::Transient(format!(
                    "Glue BatchCreatePartition {}: {}",
                    table.glue_name,
                    errors.join("; ")
                )));
            }
        }
        Ok(())
    }

    /// Drops the table (and its partitions); a table that is not there is
    /// fine. Returns whether there was one.
    pub fn delete_table(&self, table: &'static Table) -> Result<bool> {
        let response = self.call("DeleteTable", &glue::delete_table(&self.database, table))?;
        self.ready
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(table.glue_name);
        match error_code(&response).as_deref() {
            _ if response.is_success() => Ok(true),
            Some("EntityNotFoundException") => Ok(false),
            _ => {
                return Err(Error::Permanent(describe_failure(
                    &format!("Glue DeleteTable {}", table.glue_name),
                    &response,
                )))
            }
        }
    }
}

impl crate::apply::Catalog for GlueCatalog<'_> {
    fn ensure_table(&self, table: &'static Table, layout: Layout) -> Result<()> {
        GlueCatalog::ensure_table(self, table, layout)
    }

    fn add_partitions(
        &self,
        table: &'static Table,
        layout: Layout,
        partitions: &[Partition],
    ) -> Result<()> {
        GlueCatalog::add_partitions(self, table, layout, partitions)
    }
}
