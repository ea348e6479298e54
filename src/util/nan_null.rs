//! JSON has no NaN or infinity, and serde_json writes them as `null` (as the schema says).
//! Reading a result back maps `null` to NaN for the float fields where a NaN can occur, so a
//! run that produced NaN scores can still be reported.

use serde::{Deserialize, Deserializer};

pub fn f64<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

pub fn vec<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    let v = Vec::<Option<f64>>::deserialize(d)?;
    Ok(v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect())
}

pub fn option_vec<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<f64>>, D::Error> {
    let v = Option::<Vec<Option<f64>>>::deserialize(d)?;
    Ok(v.map(|v| v.into_iter().map(|x| x.unwrap_or(f64::NAN)).collect()))
}

#[cfg(test)]
mod tests {
    #[derive(serde::Deserialize)]
    struct Row {
        #[serde(deserialize_with = "super::f64")]
        x: f64,
        #[serde(deserialize_with = "super::vec")]
        v: Vec<f64>,
    }

    #[test]
    fn null_reads_as_nan_and_numbers_exactly() {
        let r: Row = serde_json::from_str(r#"{"x": null, "v": [1.5e-300, null]}"#).unwrap();
        assert!(r.x.is_nan() && r.v[1].is_nan());
        assert_eq!(r.v[0], 1.5e-300);
        assert!(serde_json::from_str::<Row>(r#"{"x": "a", "v": []}"#).is_err());
    }
}
