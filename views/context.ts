/** What every page needs to know about the request, without seeing the request itself. */
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Locale } from "../i18n/mod.ts";
// Every page reads its context: precompiled attributes are written as the renderer writes them.
import "./attributes.ts";

/** The signed-in user as the views show them. */
export interface Viewer {
  id: string;
  name: string;
  email: string;
  role: "super_admin" | "admin" | "technician";
  mfaEnabled: boolean;
}

/** Request-wide view data: the viewer, the CSRF token, the current path. */
export interface PageInfo {
  viewer: Viewer | null;
  csrf: string;
  path: string;
  organization: string;
  assetVersion: string;
  /** A CSP nonce for <style> elements that page scripts create, when the page needs one. */
  styleNonce: string | null;
  /** The request's id, shown on error pages so a report can be matched to the log. */
  requestId: string;
  /**
   * The reader's language (Accept-Language, else the organization's default), for the pages
   * end users and approvers read; the technician's console stays English.
   */
  locale: Locale;
}

/** Provided by the render helper for every page. */
export const PageContext = createContext<PageInfo>({
  viewer: null,
  csrf: "",
  path: "/",
  organization: "Assent",
  assetVersion: "0",
  styleNonce: null,
  requestId: "",
  locale: "en",
});

/** The current page info. */
export function usePage(): PageInfo {
  return useContext(PageContext);
}
