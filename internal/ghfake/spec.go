package ghfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// spec holds GitHub's OpenAPI description, rewritten so that a JSON Schema
// validator reads it as GitHub means it.
type spec struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
}

const specURL = "mem://github/openapi.json"

func loadSpec(raw []byte) (*spec, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parse openapi description: %w", err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("openapi description is not an object")
	}
	if _, ok := doc["paths"].(map[string]any); !ok {
		return nil, fmt.Errorf("openapi description has no paths")
	}
	openAPINullable(doc)
	c := jsonschema.NewCompiler()
	// OpenAPI 3.0 schemas are a draft-04/07 dialect: siblings of $ref are
	// ignored there, as draft-07 does and 2019+ does not.
	c.DefaultDraft(jsonschema.Draft7)
	c.AssertFormat()
	if err := c.AddResource(specURL, doc); err != nil {
		return nil, fmt.Errorf("load openapi description: %w", err)
	}
	return &spec{doc: doc, compiler: c}, nil
}

// openAPINullable turns OpenAPI 3.0's `nullable: true` into a JSON Schema
// type union; without it every `null` GitHub allows would be rejected.
func openAPINullable(v any) {
	switch x := v.(type) {
	case map[string]any:
		if n, _ := x["nullable"].(bool); n {
			if t, ok := x["type"].(string); ok {
				x["type"] = []any{t, "null"}
			}
			if e, ok := x["enum"].([]any); ok {
				x["enum"] = append(e, nil)
			}
		}
		for _, c := range x {
			openAPINullable(c)
		}
	case []any:
		for _, c := range x {
			openAPINullable(c)
		}
	}
}

// operation is one method of one path template of the description.
type operation struct {
	ID           string
	BodyRequired bool
	Body         *jsonschema.Schema // nil: the operation takes no JSON body
}

func pointerEscape(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// operation compiles the request-body schema of method+template.
func (s *spec) operation(method, template string) (*operation, error) {
	paths := s.doc["paths"].(map[string]any)
	item, ok := paths[template].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("openapi description has no path %s", template)
	}
	op, ok := item[strings.ToLower(method)].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("openapi description has no %s %s", method, template)
	}
	out := &operation{}
	out.ID, _ = op["operationId"].(string)
	rb, ok := op["requestBody"].(map[string]any)
	if !ok {
		return out, nil
	}
	out.BodyRequired, _ = rb["required"].(bool)
	ptr := "#/paths/" + pointerEscape(template) + "/" + strings.ToLower(method) +
		"/requestBody/content/application~1json/schema"
	sch, err := s.compiler.Compile(specURL + ptr)
	if err != nil {
		return nil, fmt.Errorf("compile request body of %s %s: %w", method, template, err)
	}
	out.Body = sch
	return out, nil
}

// responseSchema compiles the schema GitHub documents for a response; the
// fake's own tests use it to hold the fake's answers to GitHub's shapes.
func (s *spec) responseSchema(method, template, status string) (*jsonschema.Schema, error) {
	ptr := "#/paths/" + pointerEscape(template) + "/" + strings.ToLower(method) +
		"/responses/" + status
	// Responses are either inline or a $ref into components/responses.
	paths := s.doc["paths"].(map[string]any)
	item, _ := paths[template].(map[string]any)
	op, _ := item[strings.ToLower(method)].(map[string]any)
	resps, _ := op["responses"].(map[string]any)
	r, ok := resps[status].(map[string]any)
	if !ok && status == "validation_failed" {
		r, ok = map[string]any{"$ref": "#/components/responses/validation_failed"}, true
	}
	if !ok {
		return nil, fmt.Errorf("openapi description has no response %s for %s %s", status, method, template)
	}
	if ref, ok := r["$ref"].(string); ok {
		ptr = ref
	}
	return s.compiler.Compile(specURL + ptr + "/content/application~1json/schema")
}

// validate checks one decoded JSON value against a schema and returns the
// validator's message, or "" when it conforms.
func validate(sch *jsonschema.Schema, body []byte) (any, string) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return nil, "Problems parsing JSON: " + err.Error()
	}
	if err := sch.Validate(v); err != nil {
		return v, err.Error()
	}
	return v, ""
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("ghfake: marshal response: %v", err))
	}
	return b
}
