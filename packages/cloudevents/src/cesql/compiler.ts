import type { Node } from "./ast.js";
import { missingAttributeMessage, readAttribute } from "./attributes.js";
import { compileCall } from "./calls.js";
import { type Compiled, constant } from "./compiled.js";
import { compileIn } from "./in-operator.js";
import { compileLikeOperator } from "./like-operator.js";
import { compileBinary, compileNegate, compileNot } from "./operators.js";

/** Turns a syntax tree into nested closures, once; evaluation never looks at the tree again. */
export function compileNode(node: Node): Compiled {
  switch (node.kind) {
    case "literal":
      return constant(node.value);
    case "attribute":
      return compileAttribute(node.name);
    case "exists": {
      const name = node.name;
      return {
        type: "boolean",
        fallible: false,
        evaluate: (event) => readAttribute(event, name) !== undefined,
      };
    }
    case "not":
      return compileNot(compileNode(node.operand));
    case "negate":
      return compileNegate(compileNode(node.operand));
    case "binary":
      return compileBinary(node.operator, compileNode(node.left), compileNode(node.right));
    case "like":
      return compileLikeOperator(compileNode(node.operand), node.pattern, node.negated);
    case "in":
      return compileIn(compileNode(node.operand), node.set.map(compileNode), node.negated);
    case "call":
      return compileCall(node.name, node.args.map(compileNode));
  }
}

/**
 * An attribute reference. Its type is only known per event. When the event lacks it, it records a
 * MissingAttributeError and yields false, the zero value of the Boolean type assumed when the type
 * cannot be determined (§3.2); enclosing operators then yield their own zero value.
 */
function compileAttribute(name: string): Compiled {
  const message = missingAttributeMessage(name);
  return {
    type: "any",
    fallible: true,
    attribute: name,
    evaluate: (event, scope) => {
      const value = readAttribute(event, name);
      if (value !== undefined) return value;
      scope.fail("missingAttribute", message);
      return false;
    },
  };
}
