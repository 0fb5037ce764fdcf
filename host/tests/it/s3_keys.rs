//! Keys XML must escape (`&`, `<`, quotes) and non-ASCII keys, through a
//! real S3 listing (s3s-fs writes the XML): listed exactly, then deleted.

use crate::support::servers::Aws;

use std::time::Duration;

use summary_aws::credentials::Source;
use summary_aws::request::{Credentials, Endpoint};
use summary_aws::s3::S3Endpoint;
use summary_pipeline::store::ObjectStore;
use summary_uploader::aws_transport::{native_client, AwsConfig};
use summary_uploader::s3_store::S3Store;

#[test]
fn keys_with_xml_special_characters_survive_a_list_and_a_delete() {
    let aws = Aws::start();
    let endpoint = Endpoint::parse(&aws.s3.url()).unwrap();
    let client = native_client(AwsConfig {
        region: "us-east-1".into(),
        credentials: Ok(Source::Environment(Credentials {
            access_key_id: aws.access_key.clone(),
            secret_access_key: aws.secret_key.clone(),
            session_token: None,
        })),
        s3: S3Endpoint {
            endpoint: endpoint.clone(),
            path_style: true,
        },
        glue: endpoint.clone(),
        sqs: endpoint,
        request_timeout: Duration::from_secs(30),
        retry: Default::default(),
    });
    let store = S3Store::new(&client, "lake".into(), "xml".into());
    let keys = [
        "odd/a&b.txt",
        "odd/less<than>more.txt",
        "odd/\"double\" and 'single'.txt",
        "odd/café Ünïcødé 日本語.txt",
        "odd/&amp;-literally.txt",
        "odd/plain.txt",
    ];
    for key in keys {
        store.put(key, key.as_bytes()).unwrap();
    }
    let mut want: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
    want.sort();
    assert_eq!(store.list("odd/").unwrap(), want);
    for key in keys {
        assert_eq!(
            store.get(key).unwrap().as_deref(),
            Some(key.as_bytes()),
            "{key}"
        );
    }
    assert_eq!(store.delete_prefix("odd/").unwrap(), keys.len() as u64);
    assert_eq!(store.list("odd/").unwrap(), Vec::<String>::new());
    let left: Vec<String> = aws.lake_files().into_keys().collect();
    assert!(left.is_empty(), "every key deleted: {left:?}");
}
