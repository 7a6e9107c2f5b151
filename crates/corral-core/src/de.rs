//! Decoding [`Node`] trees straight into typed structs (such as `k8s-openapi`
//! types) with serde, so a type error points at the line and column of the
//! offending value.
//!
//! Values decode as kubectl's `sigs.k8s.io/yaml` decodes them (YAML 1.1
//! scalars, then JSON, then the typed field): `privileged: yes` is `true`,
//! `defaultMode: 0777` is 511, and a float with no fraction is the JSON
//! integer Go writes for it (`runAsUser: 0.0` is 0; `1.5` in an integer
//! field stays an error). A plain scalar read into a string field keeps its
//! source text: `version: 1.10` decodes to the string `"1.10"`.

use std::fmt;

use serde::de::value::BorrowedStrDeserializer;
use serde::de::{self, DeserializeOwned, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;

use crate::node::{
    json_integer, parse_float, parse_int, Entry, Node, Pos, Scalar, ScalarKind, Value,
};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// The innermost node the error was raised at.
    pub pos: Option<Pos>,
    pub message: String,
}

impl DecodeError {
    fn at(mut self, pos: Pos) -> Self {
        self.pos.get_or_insert(pos);
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DecodeError {}

impl de::Error for DecodeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        DecodeError {
            pos: None,
            message: msg.to_string(),
        }
    }
}

pub fn decode<T: DeserializeOwned>(node: &Node) -> Result<T, DecodeError> {
    T::deserialize(NodeDeserializer(node))
}

#[derive(Clone, Copy)]
pub struct NodeDeserializer<'a>(pub &'a Node);

impl<'de> NodeDeserializer<'de> {
    fn visit_scalar<V: Visitor<'de>>(
        scalar: &'de Scalar,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        match scalar.kind {
            ScalarKind::Null => visitor.visit_unit(),
            ScalarKind::Bool(b) => visitor.visit_bool(b),
            ScalarKind::Int => match parse_int(&scalar.text) {
                Some(i) => visitor.visit_i64(i),
                None => visitor.visit_borrowed_str(&scalar.text),
            },
            // An integral float is the JSON integer kubectl's decoding makes
            // of it, so an integer field reads `runAsUser: 0.0` as 0.
            ScalarKind::Float => match parse_float(&scalar.text) {
                Some(f) => match json_integer(f) {
                    Some(i) => visitor.visit_i64(i),
                    None => visitor.visit_f64(f),
                },
                None => visitor.visit_borrowed_str(&scalar.text),
            },
            ScalarKind::Str => visitor.visit_borrowed_str(&scalar.text),
        }
    }
}

impl<'de> de::Deserializer<'de> for NodeDeserializer<'de> {
    type Error = DecodeError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        let node = self.0;
        match &node.value {
            Value::Scalar(scalar) => Self::visit_scalar(scalar, visitor),
            Value::Seq(items) => visitor.visit_seq(SeqAccess(items.iter())),
            Value::Map(entries) => visitor.visit_map(MapAccess {
                entries: entries.iter(),
                value: None,
            }),
        }
        .map_err(|e| e.at(node.pos))
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        match &self.0.value {
            Value::Scalar(s) if s.kind != ScalarKind::Null => visitor
                .visit_borrowed_str::<DecodeError>(&s.text)
                .map_err(|e| e.at(self.0.pos)),
            _ => self.deserialize_any(visitor),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, DecodeError> {
        if self.0.is_null() {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, DecodeError> {
        match &self.0.value {
            Value::Scalar(s) => visitor.visit_enum(
                BorrowedStrDeserializer::<DecodeError>::new(&s.text).into_deserializer(),
            ),
            _ => self.deserialize_any(visitor),
        }
        .map_err(|e| e.at(self.0.pos))
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char
        bytes byte_buf unit unit_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}

impl<'de> IntoDeserializer<'de, DecodeError> for NodeDeserializer<'de> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

struct SeqAccess<'a>(std::slice::Iter<'a, Node>);

impl<'de> de::SeqAccess<'de> for SeqAccess<'de> {
    type Error = DecodeError;

    fn next_element_seed<T: de::DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, DecodeError> {
        self.0
            .next()
            .map(|node| seed.deserialize(NodeDeserializer(node)))
            .transpose()
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.0.len())
    }
}

struct MapAccess<'a> {
    entries: std::slice::Iter<'a, Entry>,
    value: Option<&'a Node>,
}

impl<'de> de::MapAccess<'de> for MapAccess<'de> {
    type Error = DecodeError;

    fn next_key_seed<K: de::DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, DecodeError> {
        let Some(entry) = self.entries.next() else {
            return Ok(None);
        };
        self.value = Some(&entry.value);
        seed.deserialize(BorrowedStrDeserializer::new(&entry.key))
            .map(Some)
            .map_err(|e: DecodeError| e.at(entry.key_pos))
    }

    fn next_value_seed<V: de::DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, DecodeError> {
        match self.value.take() {
            Some(node) => seed.deserialize(NodeDeserializer(node)),
            None => Err(de::Error::custom("a map value was read before its key")),
        }
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use k8s_openapi::api::core::v1::{Container, SecurityContext, Volume};

    use super::*;
    use crate::{load_bytes, Diagnostic, Limits, Severity};

    /// The tree of a document's one field `x`, and the load's diagnostics.
    fn field(yaml: &str) -> (Option<Node>, Vec<Diagnostic>) {
        let text = format!("apiVersion: v1\nkind: T\nx: {yaml}\n");
        let (objects, diagnostics) = load_bytes(
            &Arc::from("t.yaml"),
            text.as_bytes(),
            &Limits::default(),
            &|_| {},
        );
        let node = objects.first().and_then(|o| o.root.get("x")).cloned();
        (node, diagnostics)
    }

    fn decoded<T: DeserializeOwned>(yaml: &str) -> Result<T, DecodeError> {
        let (node, diagnostics) = field(yaml);
        assert!(diagnostics.is_empty(), "{yaml}: {diagnostics:?}");
        decode(&node.unwrap())
    }

    fn run_as_user(value: &str) -> Result<Option<i64>, DecodeError> {
        decoded::<SecurityContext>(&format!("{{runAsUser: {value}}}")).map(|s| s.run_as_user)
    }

    /// Integers as sigs.k8s.io/yaml reads them (go-yaml v2's resolution,
    /// then JSON): a float with no fraction is the integer Go's
    /// `json.Marshal` writes for it.
    #[test]
    fn integer_fields_read_what_kubectl_reads() {
        let cases = [
            ("0", 0),
            ("0.0", 0),
            ("-0.0", 0),
            ("+0.0", 0),
            ("0.", 0),
            (".0", 0),
            ("0e0", 0),
            ("1e3", 1000),
            ("1.0E+3", 1000),
            ("1_000.0", 1000),
            ("0o0", 0),
            ("0O17", 15),
            ("0x0", 0),
            ("0X1f", 31),
            ("0B101", 5),
            ("-0b11", -3),
            ("+_1", 1),
            ("1_000", 1000),
            ("0777", 511),
            // Not octal: go-yaml reads a float, 9.
            ("09", 9),
            ("-9223372036854775808", i64::MIN),
            ("9007199254740992.0", 9_007_199_254_740_992),
            ("!!int \"0\"", 0),
            ("!!float 0", 0),
            ("!!int '0x10'", 16),
        ];
        for (text, uid) in cases {
            assert_eq!(run_as_user(text).unwrap(), Some(uid), "{text}");
        }
        // A fraction, a number past any integer field, an infinity: errors,
        // as they are for kubectl, at the value.
        for text in [
            "1.5",
            "1e30",
            "1e21",
            "9223372036854775808",
            ".inf",
            ".nan",
            "'0'",
            "._5",
            ".0_0",
        ] {
            let error = run_as_user(text).unwrap_err();
            assert_eq!(error.pos, Some(Pos { line: 3, col: 16 }), "{text}: {error}");
        }
        let mode = decoded::<Volume>("{name: v, secret: {defaultMode: 0777}}").unwrap();
        assert_eq!(mode.secret.unwrap().default_mode, Some(511));
        let port = decoded::<Container>("{name: c, ports: [{containerPort: 8080.0}]}").unwrap();
        assert_eq!(port.ports.unwrap()[0].container_port, 8080);
        assert!(decoded::<Container>("{name: c, ports: [{containerPort: 4294967296.0}]}").is_err());
    }

    #[test]
    fn booleans_read_what_kubectl_reads() {
        let privileged = |text: &str| {
            decoded::<SecurityContext>(&format!("{{privileged: {text}}}")).map(|s| s.privileged)
        };
        for text in [
            "yes",
            "Yes",
            "YES",
            "on",
            "On",
            "ON",
            "y",
            "Y",
            "true",
            "True",
            "TRUE",
            "!!bool 'yes'",
            "!!bool \"on\"",
        ] {
            assert_eq!(privileged(text).unwrap(), Some(true), "{text}");
        }
        for text in ["no", "off", "n", "N", "false", "FALSE"] {
            assert_eq!(privileged(text).unwrap(), Some(false), "{text}");
        }
        for text in ["'yes'", "1", "\"true\"", "!!str true", "!foo true"] {
            assert!(privileged(text).is_err(), "{text}");
        }
        assert_eq!(privileged("~").unwrap(), None);
    }

    /// A tag that the value cannot be is go-yaml's error, and the
    /// document's: it is not read.
    #[test]
    fn mismatched_tags_are_errors_at_the_value() {
        for text in [
            "!!int \"x\"",
            "!!bool 1",
            "!!null 0",
            "!!float yes",
            "!!binary aGk=",
        ] {
            let (node, diagnostics) = field(text);
            assert!(node.is_none(), "{text}");
            assert_eq!(diagnostics.len(), 1, "{text}: {diagnostics:?}");
            assert_eq!(diagnostics[0].severity, Severity::Error);
            assert_eq!(diagnostics[0].pos, Some(Pos { line: 3, col: 4 }), "{text}");
        }
    }
}
