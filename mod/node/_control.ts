/**
 * Control requests from this node's own machine: `member leave`, `member join`, `member set`
 * (the receive-side drop rate here, the suspicion switch for the whole cluster), `member tags`
 * (what this node says about itself) and `member event` (a user event to every member).
 */
import type { ControlRequest, ControlResponse } from "../wire/codec.ts";
import type { Driver } from "./_driver.ts";
import { leave, listed, rejoin } from "./_join.ts";
import { stateWords } from "./options.ts";
import { changedTags, tagsText } from "./tags.ts";
import type { Tags } from "../core/types.ts";

/**
 * Replaces what the node says about itself (`member tags`, `Member.setTags`); returns why it
 * cannot, in one line, or undefined once done.
 */
export function setTags(driver: Driver, tags: Tags): string | undefined {
  if (driver.state !== "member") return `this node is ${stateWords[driver.state]}`;
  // The core checks the whole set (`tagsProblem`): its refusal is the answer's one line.
  const problem = driver.core.setTags(driver.now(), tags);
  if (problem !== undefined) return problem;
  driver.flush();
  const text = tagsText(driver.core.tags);
  driver.log.info("tags set to {tags}", { tags: text === "" ? "none" : text });
  return undefined;
}

/** Carries out one control request and says how it went. */
export async function control(driver: Driver, message: ControlRequest): Promise<ControlResponse> {
  const ok = (text: string): ControlResponse => ({
    kind: "control-response",
    ok: true,
    message: text,
  });
  const no = (text: string): ControlResponse => ({
    kind: "control-response",
    ok: false,
    message: text,
  });
  switch (message.action) {
    case "leave":
      if (driver.state !== "member") return no(`this node is ${stateWords[driver.state]}`);
      await leave(driver);
      return ok(`${driver.id} left the group`);
    case "join":
      if (driver.state !== "left") {
        return no(`this node is ${stateWords[driver.state]}: only a node that left can join`);
      }
      try {
        await rejoin(driver);
        return ok(`joined as ${driver.id}, ${listed(driver.core.liveCount)}`);
      } catch (error) {
        return no((error as Error).message);
      }
    case "set": {
      const changes: string[] = [];
      if (message.dropRate !== undefined) {
        driver.dropRate = message.dropRate;
        changes.push(`drop rate ${message.dropRate}`);
        driver.log.info("receive-side drop rate set to {rate}", { rate: message.dropRate });
      }
      if (message.suspicion !== undefined) {
        if (driver.state !== "member") return no(`this node is ${stateWords[driver.state]}`);
        driver.core.setSuspicion(driver.now(), message.suspicion);
        driver.flush();
        changes.push(`suspicion ${message.suspicion ? "on" : "off"} for the whole cluster`);
      }
      return ok(changes.length > 0 ? `set ${changes.join(", ")}` : "nothing to set");
    }
    case "event": {
      if (driver.state !== "member") return no(`this node is ${stateWords[driver.state]}`);
      const name = message.eventName ?? "";
      const problem = driver.core.sendUserEvent(driver.now(), name, message.eventPayload ?? "");
      if (problem !== undefined) return no(problem);
      driver.flush();
      return ok(`${driver.id} sent ${name} to every member`);
    }
    case "tags": {
      const tags = changedTags(driver.core.tags, message.setTags ?? {}, message.deleteTags ?? []);
      const problem = setTags(driver, tags);
      if (problem !== undefined) return no(problem);
      const text = tagsText(driver.core.tags);
      return ok(`${driver.id} says ${text === "" ? "no tags" : text}`);
    }
  }
}
