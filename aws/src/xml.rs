//! The few values read out of AWS's XML answers (S3 lists and errors),
//! with a real XML parser (`quick-xml`): entity and character references
//! (`&amp;`, `&#38;`, `&#x26;`) decoded, CDATA taken as text, comments
//! skipped, and only the elements at the wanted place in the document.

use quick_xml::events::Event;
use quick_xml::Reader;

/// The text of every element found at one of `paths` (element names below
/// the root, e.g. `&["Contents", "Key"]`), in document order, with the
/// index of the path it was found at. A document that is not well-formed
/// XML is an error.
pub fn texts_at(xml: &[u8], paths: &[&[&str]]) -> Result<Vec<(usize, String)>, String> {
    let mut reader = Reader::from_reader(xml);
    let mut open: Vec<String> = Vec::new();
    // The path being read and its text so far.
    let mut current: Option<(usize, String)> = None;
    let mut found = Vec::new();
    let fail = |e: &dyn std::fmt::Display, reader: &Reader<&[u8]>| {
        format!(
            "XML answer unreadable at byte {}: {e}",
            reader.buffer_position()
        )
    };
    loop {
        let event = reader.read_event().map_err(|e| fail(&e, &reader))?;
        match event {
            Event::Start(start) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                open.push(name);
                current = below_root(&open)
                    .and_then(|below| paths.iter().position(|path| *path == below))
                    .map(|index| (index, String::new()));
            }
            Event::Empty(start) => {
                let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
                open.push(name);
                if let Some(index) =
                    below_root(&open).and_then(|below| paths.iter().position(|path| *path == below))
                {
                    found.push((index, String::new()));
                }
                open.pop();
            }
            Event::End(_) => {
                if let Some(value) = current.take() {
                    found.push(value);
                }
                open.pop();
            }
            Event::Text(text) => {
                if let Some((_, value)) = current.as_mut() {
                    value.push_str(&text.xml10_content().map_err(|e| fail(&e, &reader))?);
                }
            }
            Event::CData(data) => {
                if let Some((_, value)) = current.as_mut() {
                    value.push_str(&data.xml10_content().map_err(|e| fail(&e, &reader))?);
                }
            }
            Event::GeneralRef(reference) => {
                if let Some((_, value)) = current.as_mut() {
                    match reference
                        .resolve_char_ref()
                        .map_err(|e| fail(&e, &reader))?
                    {
                        Some(character) => value.push(character),
                        None => {
                            let name = reference.decode().map_err(|e| fail(&e, &reader))?;
                            let resolved = quick_xml::escape::resolve_xml_entity(&name)
                                .ok_or_else(|| {
                                    fail(&format!("unknown entity &{name};"), &reader)
                                })?;
                            value.push_str(resolved);
                        }
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !open.is_empty() {
        return Err(format!("XML answer cut short inside <{}>", open.join("><")));
    }
    Ok(found)
}

/// The open elements below the document's root element.
fn below_root(open: &[String]) -> Option<Vec<&str>> {
    (open.len() > 1).then(|| open[1..].iter().map(String::as_str).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_cdata_and_places() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <!-- <Key>in a comment</Key> -->
  <Contents><Key>a&amp;b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#38;&#x26; caf&#233; 日本</Key></Contents>
  <Contents><Key><![CDATA[x<y]]></Key><Owner><Key>not a listed key</Key></Owner></Contents>
  <Contents><Key/></Contents>
  <NextContinuationToken>tok</NextContinuationToken>
</ListBucketResult>"#;
        let found = texts_at(
            xml.as_bytes(),
            &[&["Contents", "Key"], &["NextContinuationToken"]],
        )
        .unwrap();
        assert_eq!(
            found,
            vec![
                (0, "a&b <c> \"d\" 'e' && café 日本".to_string()),
                (0, "x<y".to_string()),
                (0, String::new()),
                (1, "tok".to_string()),
            ]
        );
    }

    #[test]
    fn broken_documents_are_errors() {
        assert!(texts_at(b"<A><B>x</C></A>", &[&["B"]]).is_err());
        assert!(texts_at(b"<A><B>&bogus;</B></A>", &[&["B"]])
            .unwrap_err()
            .contains("&bogus;"));
        assert!(texts_at(b"<A><B>x", &[&["B"]])
            .unwrap_err()
            .contains("cut short"));
    }
}
