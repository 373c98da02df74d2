use super::*;

fn parse(json: &str) -> Result<Recipe, RecipeError> {
    Recipe::parse(json.as_bytes(), &RecipeLimits::default())
}

#[test]
fn the_design_example_parses_and_round_trips() {
    let json = r##"{
      "source": {"url": "https://example.com/cat.jpg"},
      "operations": [{"op": "auto_orient"}, {"op": "resize", "width": 1600, "height": 1600, "fit": "inside"}],
      "outputs": [
        {"name": "large", "format": "jpeg", "quality": 85},
        {"name": "thumb", "format": "webp", "quality": 80,
         "operations": [{"op": "resize", "width": 200, "height": 200, "fit": "cover"}]}
      ],
      "priority": "high",
      "webhook": {"url": "https://example.com/hook"},
      "metadata": {"order": "A-1"}
    }"##;
    let recipe = parse(json).unwrap();
    assert_eq!(recipe.priority, Priority::High);
    assert_eq!(recipe.outputs.len(), 2);
    assert_eq!(recipe.operations[1].name(), "resize");
    let again = serde_json::to_vec(&recipe).unwrap();
    assert_eq!(
        Recipe::parse(&again, &RecipeLimits::default()).unwrap(),
        recipe
    );
}

#[test]
fn every_operation_kind_round_trips() {
    let json = r##"{"operations": [
        {"op": "auto_orient"}, {"op": "crop", "x": 1, "y": 2, "width": 3, "height": 4},
        {"op": "extend", "top": 2, "background": "#00000080"}, {"op": "trim", "threshold": 10},
        {"op": "rotate", "angle": 33.5}, {"op": "flip"}, {"op": "flop"}, {"op": "grayscale"},
        {"op": "blur", "sigma": 2}, {"op": "sharpen", "sigma": 1, "amount": 2, "threshold": 3},
        {"op": "brightness", "value": 1.2}, {"op": "contrast", "value": 0.8},
        {"op": "saturation", "value": 0}, {"op": "hue_rotate", "degrees": 90}, {"op": "invert"},
        {"op": "tint", "color": "#ff8800"},
        {"op": "watermark", "text": "tintype", "gravity": "southeast", "opacity": 0.5, "margin": 8}
      ],
      "outputs": [{"name": "a", "format": "png", "compression": 6}]}"##;
    let recipe = parse(json).unwrap();
    assert_eq!(recipe.operations.len(), 17);
    let again = serde_json::to_vec(&recipe).unwrap();
    assert_eq!(
        Recipe::parse(&again, &RecipeLimits::default()).unwrap(),
        recipe
    );
}

#[test]
fn an_unknown_operation_names_its_path() {
    let err = parse(r#"{"operations": [{"op": "resize", "width": 10}, {"op": "explode"}], "outputs": [{"name": "a", "format": "png"}]}"#).unwrap_err();
    assert_eq!(err.field, "operations[1].op");
    assert!(err.message.contains("explode"), "{err}");
}

#[test]
fn a_wrongly_typed_field_names_its_path() {
    let err =
        parse(r#"{"outputs": [{"name": "a", "format": "jpeg", "quality": "high"}]}"#).unwrap_err();
    assert_eq!(err.field, "outputs[0].quality");
}

#[test]
fn an_unknown_field_is_refused() {
    let err = parse(r#"{"outputs": [{"name": "a", "format": "jpeg", "qualty": 80}]}"#).unwrap_err();
    assert!(err.message.contains("qualty"), "{err}");
}

#[test]
fn an_unknown_format_is_refused() {
    let err = parse(r#"{"outputs": [{"name": "a", "format": "bmp"}]}"#).unwrap_err();
    assert_eq!(err.field, "outputs[0].format");
}

#[test]
fn out_of_range_values_name_the_field() {
    let cases = [
        (
            r#"{"outputs": [{"name": "a", "format": "jpeg", "quality": 0}]}"#,
            "outputs[0].quality",
        ),
        (
            r#"{"outputs": [{"name": "a", "format": "png", "quality": 80}]}"#,
            "outputs[0].quality",
        ),
        (
            r#"{"outputs": [{"name": "a", "format": "jpeg", "compression": 3}]}"#,
            "outputs[0].compression",
        ),
        (
            r#"{"outputs": [{"name": "a b", "format": "jpeg"}]}"#,
            "outputs[0].name",
        ),
        (
            r#"{"operations": [{"op": "resize", "width": 0}], "outputs": [{"name": "a", "format": "jpeg"}]}"#,
            "operations[0].width",
        ),
        (
            r#"{"operations": [{"op": "resize", "width": 100000}], "outputs": [{"name": "a", "format": "jpeg"}]}"#,
            "operations[0].width",
        ),
        (
            r#"{"operations": [{"op": "resize"}], "outputs": [{"name": "a", "format": "jpeg"}]}"#,
            "operations[0]",
        ),
        (
            r#"{"operations": [{"op": "resize", "width": 10, "fit": "cover"}], "outputs": [{"name": "a", "format": "jpeg"}]}"#,
            "operations[0].fit",
        ),
        (
            r#"{"operations": [{"op": "blur", "sigma": 1000}], "outputs": [{"name": "a", "format": "jpeg"}]}"#,
            "operations[0].sigma",
        ),
        (
            r#"{"outputs": [{"name": "a", "format": "jpeg", "operations": [{"op": "rotate", "angle": 720}]}]}"#,
            "outputs[0].operations[0].angle",
        ),
        (
            r#"{"outputs": [{"name": "a", "format": "jpeg"}, {"name": "a", "format": "png"}]}"#,
            "outputs[1].name",
        ),
        (
            r#"{"outputs": [{"name": "a", "format": "png", "animated": true}]}"#,
            "outputs[0].animated",
        ),
        (r#"{"outputs": []}"#, "outputs"),
        (
            r#"{"source": {"url": "ftp://x/y"}, "outputs": [{"name": "a", "format": "jpeg"}]}"#,
            "source.url",
        ),
        (
            r#"{"source": {}, "outputs": [{"name": "a", "format": "jpeg"}]}"#,
            "source",
        ),
        (
            r#"{"webhook": {"url": "/relative"}, "outputs": [{"name": "a", "format": "jpeg"}]}"#,
            "webhook.url",
        ),
        (
            r#"{"max_attempts": 0, "outputs": [{"name": "a", "format": "jpeg"}]}"#,
            "max_attempts",
        ),
        (
            r#"{"timeout_secs": 100000, "outputs": [{"name": "a", "format": "jpeg"}]}"#,
            "timeout_secs",
        ),
        (
            r##"{"operations": [{"op": "tint", "color": "orange"}], "outputs": [{"name": "a", "format": "jpeg"}]}"##,
            "operations[0]",
        ),
        (
            r#"{"operations": [{"op": "watermark"}], "outputs": [{"name": "a", "format": "jpeg"}]}"#,
            "operations[0]",
        ),
    ];
    for (json, field) in cases {
        let err = parse(json).expect_err(json);
        assert_eq!(err.field, field, "{json}: {err}");
        assert!(!err.message.is_empty());
    }
}

#[test]
fn limits_on_counts_and_metadata_hold() {
    let limits = RecipeLimits {
        max_outputs: 2,
        max_operations: 1,
        max_metadata_bytes: 10,
        ..RecipeLimits::default()
    };
    let too_many_outputs = r#"{"outputs": [{"name": "a", "format": "jpeg"}, {"name": "b", "format": "jpeg"}, {"name": "c", "format": "jpeg"}]}"#;
    assert_eq!(
        Recipe::parse(too_many_outputs.as_bytes(), &limits)
            .unwrap_err()
            .field,
        "outputs"
    );
    let too_many_ops = r#"{"operations": [{"op": "flip"}, {"op": "flop"}], "outputs": [{"name": "a", "format": "jpeg"}]}"#;
    assert_eq!(
        Recipe::parse(too_many_ops.as_bytes(), &limits)
            .unwrap_err()
            .field,
        "operations"
    );
    let big_metadata =
        r#"{"metadata": {"k": "a long value"}, "outputs": [{"name": "a", "format": "jpeg"}]}"#;
    assert_eq!(
        Recipe::parse(big_metadata.as_bytes(), &limits)
            .unwrap_err()
            .field,
        "metadata"
    );
}

#[test]
fn not_json_at_all_is_a_recipe_error_at_the_root() {
    let err = parse("this is not json").unwrap_err();
    assert_eq!(err.field, ".");
}

#[test]
fn colours_parse_and_print() {
    assert_eq!(Color::parse("#ff000080"), Some(Color::rgba(255, 0, 0, 128)));
    assert_eq!(
        Color::parse("#00ff00").map(|c| c.to_string()).as_deref(),
        Some("#00ff00")
    );
    assert_eq!(Color::parse("red"), None);
    assert_eq!(Color::parse("#12345"), None);
}

#[test]
fn animated_is_off_by_default_and_round_trips_for_gif_and_webp() {
    let r = parse(r#"{"outputs": [{"name": "a", "format": "gif"}]}"#).unwrap();
    assert!(!r.outputs[0].animated);
    let json = r#"{"outputs": [{"name": "a", "format": "webp", "animated": true}]}"#;
    let r = parse(json).unwrap();
    assert!(r.outputs[0].animated);
    let again = parse(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(again, r);
}
