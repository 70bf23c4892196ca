;;; perfsquad-test.el --- drive eglot against `perfsquad serve' in batch Emacs  -*- lexical-binding: t -*-

;; Run as: emacs -Q --batch -l tests/editors/perfsquad-test.el
;; Environment:
;;   PERFSQUAD_SERVE_CMD  JSON list: the server command, e.g. [".venv/bin/perfsquad", "serve"]
;;   PERFSQUAD_FILE       the Python file to open
;;   PERFSQUAD_RESULT     where to write the JSON result
;;   PERFSQUAD_MODE       "fix": wait for IDM001, apply its quick fix through `eglot-code-actions'
;;                        (answering its menu as a user would), save, wait for the finding to clear;
;;                        "hover": wait for IDM001 and collect eglot's hover (eldoc) text there;
;;                        "profile": run `perfsquad.profile' without arguments (the current file),
;;                        collect the window/showMessage messages, then the hover text
;;   PERFSQUAD_TIMEOUT    deadline in seconds for each wait (default 30)
;; Every wait polls inside Emacs (`accept-process-output') until its condition holds or the deadline.

(require 'package)
(add-to-list 'package-directory-list "/usr/share/emacs/site-lisp/elpa")
(package-initialize)
(require 'cl-lib)
(require 'seq)
(require 'json)
(require 'python)
(require 'eglot)
(require 'flymake)

(defvar perfsquad-test-result nil "Alist written as JSON at the end.")
(defvar perfsquad-test-steps nil "The steps done, in reverse order.")
(defvar perfsquad-test-timeout (string-to-number (or (getenv "PERFSQUAD_TIMEOUT") "30")))

(defun perfsquad-test-put (key value)
  (push (cons key value) perfsquad-test-result))

(defun perfsquad-test-wait (what condition)
  "Poll CONDITION (a function) until it returns non-nil or the deadline passes."
  (let ((deadline (+ (float-time) perfsquad-test-timeout))
        (value nil))
    (while (and (not (setq value (funcall condition)))
                (< (float-time) deadline))
      (accept-process-output nil 0.05))
    (unless value
      (error "Timed out after %s s waiting for %s" perfsquad-test-timeout what))
    (push what perfsquad-test-steps)
    value))

(defun perfsquad-test-lsp-diag (diag)
  "The LSP diagnostic (a plist) behind the flymake diagnostic DIAG."
  (cdr (assoc 'eglot-lsp-diag (eglot--diag-data diag))))

(defun perfsquad-test-findings (code)
  "Flymake diagnostics in the buffer that come from perfsquad with CODE."
  (cl-remove-if-not
   (lambda (diag)
     (let ((lsp (perfsquad-test-lsp-diag diag)))
       (and (equal (plist-get lsp :source) "perfsquad") (equal (plist-get lsp :code) code))))
   (flymake-diagnostics)))

(defvar perfsquad-test-messages nil "window/showMessage messages received, in reverse order.")

(defun perfsquad-test-record-message (_server method &rest params)
  (when (eq method 'window/showMessage)
    (push (plist-get params :message) perfsquad-test-messages)))

;; The consent to run the workspace's code (#19): answered "Run", as the user would.
(defvar perfsquad-test-requests nil "window/showMessageRequest messages received, in reverse order.")

(cl-defmethod eglot-handle-request
  (_server (_method (eql window/showMessageRequest)) &key _type message actions &allow-other-keys)
  (push message perfsquad-test-requests)
  (or (seq-find (lambda (action) (equal (plist-get action :title) "Run")) actions) :null))

(defun perfsquad-test-hover ()
  (let ((text nil))
    (eglot-hover-eldoc-function (lambda (info &rest _) (setq text (or info ""))))
    (perfsquad-test-wait "hover" (lambda () text))
    (substring-no-properties text)))

(defun perfsquad-test-run ()
  (let* ((cmd (append (json-read-from-string (getenv "PERFSQUAD_SERVE_CMD")) nil))
         (mode (or (getenv "PERFSQUAD_MODE") "fix")))
    (setq eglot-server-programs `((python-mode . ,cmd)))
    (setq eglot-sync-connect t
          eglot-connect-timeout perfsquad-test-timeout
          eglot-send-changes-idle-time 0.1
          flymake-no-changes-timeout 0.1)
    (find-file (getenv "PERFSQUAD_FILE"))
    (unless (derived-mode-p 'python-mode) (python-mode))
    (apply #'eglot (eglot--guess-contact))
    (perfsquad-test-wait "eglot connected" #'eglot-current-server)
    (flymake-start)
    (let* ((diag (car (perfsquad-test-wait
                       "IDM001 diagnostic"
                       (lambda () (or (perfsquad-test-findings "IDM001") (progn (flymake-start) nil))))))
           (lsp (perfsquad-test-lsp-diag diag)))
      (perfsquad-test-put 'diagnostic `((code . ,(plist-get lsp :code))
                                        (source . ,(plist-get lsp :source))
                                        (message . ,(flymake-diagnostic-text diag))
                                        (line . ,(line-number-at-pos (flymake-diagnostic-beg diag)))))
      (goto-char (flymake-diagnostic-beg diag))
      (cond
       ((equal mode "fix")
        (let ((offered nil)
              (before (buffer-string))
              ;; A keyboard event, so eglot asks through `completing-read', not a popup menu.
              (last-nonmenu-event ?\r))
          (cl-letf (((symbol-function 'completing-read)
                     (lambda (_prompt collection &rest _)
                       (setq offered (mapcar #'car collection))
                       (or (cl-find-if (lambda (title) (string-match-p "list comprehension" title)) offered)
                           (error "No list-comprehension quick fix among %S" offered)))))
            (eglot-code-actions (point) nil "quickfix" t))
          (perfsquad-test-put 'offered (vconcat offered))
          (perfsquad-test-wait "quick fix applied" (lambda () (not (equal before (buffer-string)))))
          (save-buffer)
          (push "saved" perfsquad-test-steps)
          (perfsquad-test-wait "IDM001 cleared after the fix"
                               (lambda () (progn (flymake-start) (null (perfsquad-test-findings "IDM001")))))))
       ((equal mode "hover")
        (perfsquad-test-put 'finding_hover (perfsquad-test-hover)))
       ((equal mode "profile")
        (advice-add 'eglot-handle-notification :before #'perfsquad-test-record-message)
        (let ((jsonrpc-default-request-timeout perfsquad-test-timeout))
          (eglot-execute-command (eglot-current-server) "perfsquad.profile" nil))
        (perfsquad-test-wait "profile headline message"
                             (lambda () (cl-some (lambda (m) (string-match-p "profiled" m)) perfsquad-test-messages)))
        (perfsquad-test-put 'messages (vconcat (reverse perfsquad-test-messages)))
        (perfsquad-test-put 'requests (vconcat (reverse perfsquad-test-requests)))
        (perfsquad-test-put 'finding_hover (perfsquad-test-hover)))
       (t (error "Unknown PERFSQUAD_MODE %s" mode))))
    (eglot-shutdown (eglot-current-server))))

(let ((ok t))
  (condition-case err
      (perfsquad-test-run)
    (error (setq ok nil)
           (perfsquad-test-put 'error (error-message-string err))))
  (perfsquad-test-put 'ok (if ok t :json-false))
  (perfsquad-test-put 'steps (vconcat (reverse perfsquad-test-steps)))
  (with-temp-file (getenv "PERFSQUAD_RESULT")
    (insert (json-encode perfsquad-test-result)))
  (kill-emacs 0))

;;; perfsquad-test.el ends here
